package sdktest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/securetoken"
	"github.com/satchel-project/satchel/ucare"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// opsShape describes a list of operations as text: each operation's type
// name and JSON, so two lists compare equal exactly when they hold the same
// values.
func opsShape(t *testing.T, ops any) string {
	t.Helper()
	v := reflect.ValueOf(ops)
	var b strings.Builder
	for i := 0; i < v.Len(); i++ {
		op := v.Index(i).Elem()
		j, err := json.Marshal(op.Interface())
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(op.Type().Name())
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestTransformationMatchesCDN checks that what the SDK's builder makes is
// what the CDN's parser reads back: the same operations, and the same
// canonical text.
func TestTransformationMatchesCDN(t *testing.T) {
	half := 50.0
	pad := 4
	for _, c := range []struct {
		t    *ucare.Transformation
		want string
	}{
		{ucare.NewTransformation().Crop(ucare.Size(2000, 1325), ucare.Aligned(cdnurl.AlignCenter)), "crop/2000x1325/center/"},
		{ucare.NewTransformation().Crop(ucare.Size(640, 424), ucare.Point(2560, 830)), "crop/640x424/2560,830/"},
		{ucare.NewTransformation().Crop(ucare.Size(10, 10), ucare.Point(0, 0)), "crop/10x10/"},
		{ucare.NewTransformation().CropRatio(16, 9, ucare.Aligned(cdnurl.AlignCenter)), "crop/16:9/"},
		{ucare.NewTransformation().CropRatio(4, 3, ucare.PointPct(10, 20)), "crop/4:3/10p,20p/"},
		{ucare.NewTransformation().CropObjects("face", &cdnurl.Ratio{A: 1, B: 1}, nil, ucare.Aligned(cdnurl.AlignTop)), "crop/face/1:1/top/"},
		{ucare.NewTransformation().SetFill("ece3d2").Format("jpg"), "setfill/ece3d2/-/format/jpeg/"},
		{ucare.NewTransformation().Rasterize().BlurBy(20), "rasterize/-/blur/20/"},
		{ucare.NewTransformation().Preview().Quality("best").Progressive(true), "preview/-/quality/best/-/progressive/yes/"},
		{ucare.NewTransformation().PreviewBox(440, 400).BlurRegion(ucare.Size(130, 180), *ucare.Point(220, 25), 0), "preview/440x400/-/blur_region/130x180/220,25/"},
		{ucare.NewTransformation().PreviewBox(440, 440).BlurFaces(250), "preview/440x440/-/blur_region/faces/250/"},
		{ucare.NewTransformation().PreviewBox(600, 600).SharpBy(20), "preview/600x600/-/sharp/20/"},
		{ucare.NewTransformation().Preview().Saturation(-80).Contrast(80).Warmth(50), "preview/-/saturation/-80/-/contrast/80/-/warmth/50/"},
		{ucare.NewTransformation().Preview().Filter("briaril"), "preview/-/filter/briaril/"},
		{ucare.NewTransformation().Preview().SRGB("fast"), "preview/-/srgb/fast/"},
		{ucare.NewTransformation().PreviewBox(440, 440).TextAlign("right", "bottom").Font(20, "fff").TextBox("fill", "fcba0355", -1).
			Text(ucare.SizePct(80, 80), *ucare.Aligned(cdnurl.AlignCenter), "Up~load\nca/re 👍"),
			"preview/440x440/-/text_align/right/bottom/-/font/20/fff/-/text_box/fill/fcba0355/-/text/80px80p/center/Up~~load~nca~sre%20%F0%9F%91%8D/"},
		{ucare.NewTransformation().Preview().Autorotate(false), "preview/-/autorotate/no/"},
		{ucare.NewTransformation().Preview().Rotate(-90), "preview/-/rotate/270/"},
		{ucare.NewTransformation().PreviewBox(2048, 2048).Enhance().Sharp().Blur().FilterBy("galen", 100).MainColors(0), "preview/-/enhance/-/sharp/-/blur/-/filter/galen/-/main_colors/"},
		{ucare.NewTransformation().Resize(800, 0).SmartResize(300, 200).Stretch("off").ScaleCrop(76, 76, ucare.Aligned(cdnurl.AlignCenter)), "resize/800x/-/smart_resize/300x200/-/stretch/off/-/scale_crop/76x76/center/"},
		{ucare.NewTransformation().ScaleCropSmart(100, 100, "smart_faces", nil).ZoomObjects(50), "scale_crop/100x100/smart_faces/-/zoom_objects/50/"},
		{ucare.NewTransformation().BorderRadius([]cdnurl.Length{{Value: 10}, {Value: 10}}, []cdnurl.Length{{Value: 10}}), "border_radius/10/"},
		{ucare.NewTransformation().BorderRadius([]cdnurl.Length{{Value: 50, Percent: true}, {Value: 1}, {Value: 50, Percent: true}, {Value: 1}}, nil), "border_radius/50p,1/"},
		{ucare.NewTransformation().Flip().Mirror().Grayscale().Invert().Inline(true).StripMeta("sensitive"), "flip/-/mirror/-/grayscale/-/invert/-/inline/yes/-/strip_meta/sensitive/"},
		{ucare.NewTransformation().Brightness(10).Exposure(-20).Gamma(120).Vibrance(30).EnhanceBy(80).Unsharp(100, -50), "brightness/10/-/exposure/-20/-/gamma/120/-/vibrance/30/-/enhance/80/-/blur/100/-50/"},
		{ucare.NewTransformation().SRGB("icc").MaxICCSize(20).Format("webp"), "srgb/icc/-/max_icc_size/20/-/format/webp/"},
		{ucare.NewTransformation().Overlay("b18b5179-ae5d-4a2e-9ef6-4f2b1c2c1b0a", ptr(ucare.SizePct(50, 50)), ucare.Aligned(cdnurl.AlignCenter), &half), "overlay/b18b5179-ae5d-4a2e-9ef6-4f2b1c2c1b0a/50px50p/center/50p/"},
		{ucare.NewTransformation().Overlay("self", nil, nil, nil), "overlay/self/"},
		{ucare.NewTransformation().Rect("ff000080", ucare.SizePct(50, 33), *ucare.PointPct(50, 50)), "rect/ff000080/50px33p/50p,50p/"},
		{ucare.NewTransformation().Font(12, "000").TextBox("fit", "FFFFFF", pad), "font/12/-/text_box/fit/fff/4/"},
		{ucare.NewTransformation().JSON(), "json/"},
		{ucare.NewTransformation(), ""},
	} {
		if err := c.t.Err(); err != nil {
			t.Errorf("%s: %v", c.want, err)
			continue
		}
		got := c.t.String()
		if got != c.want {
			t.Errorf("built %q, want %q", got, c.want)
		}
		parsed, err := cdnurl.ParseOps(got)
		if err != nil {
			t.Errorf("%s: the CDN parser refuses it: %v", got, err)
			continue
		}
		if p, b := opsShape(t, parsed), opsShape(t, c.t.Ops()); p != b {
			t.Errorf("%s: the CDN parsed\n%s\nthe builder made\n%s", got, p, b)
		}
		if f := cdnurl.FormatOps(parsed); f != got {
			t.Errorf("%s: the CDN writes it back as %q", got, f)
		}
		path, _ := c.t.Path()
		tg, err := cdnurl.Parse("/22240276-2f06-41f8-9411-755c8ce926ed/" + path)
		if err != nil || cdnurl.FormatOps(tg.Ops) != got {
			t.Errorf("%s: as a CDN path: %v", got, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestSecureURLsVerify checks that the CDN's verifier accepts the URLs the
// SDK's secure URL builders make (pyuploadcare's vectors, cdn.md §7).
func TestSecureURLsVerify(t *testing.T) {
	const secret = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	const id = "52da3bfc-7cd8-4861-8b05-126fef7a6994"
	at := func(exp int64) func() time.Time { return func() time.Time { return time.Unix(exp-300, 0) } }
	for _, c := range []struct {
		b    ucare.SecureURLBuilder
		h    string
		want string
	}{
		{&ucare.AkamaiACLURLBuilder{CDNBase: "https://cdn.example.com/", Secret: secret, Now: at(1633997100)}, id,
			"https://cdn.example.com/" + id + "/?token=exp=1633997100~acl=/" + id + "/~hmac=81852547d9dbd9eefd24bee2cada6eab02244b9013533bc8511511923098df72"},
		{&ucare.AkamaiACLURLBuilder{CDNBase: "https://cdn.example.com", Secret: secret, Now: at(1633997100), Wildcard: true}, "https://ucarecdn.com/" + id + "/",
			"https://cdn.example.com/" + id + "/?token=exp=1633997100~acl=/" + id + "/*~hmac=b2c7526a29d0588b121aa78bc2b2c9399bfb6e1cad3d95397efed722fdbc5a78"},
		{&ucare.AkamaiACLURLBuilder{Secret: secret, Now: at(1633997100)}, id + "/-/resize/640x/other/transformations/",
			"https://ucarecdn.com/" + id + "/-/resize/640x/other/transformations/?token=exp=1633997100~acl=/" + id + "/-/resize/640x/other/transformations/~hmac=a3ae2b3e3adfcb5d41ca753598e19d17264ac87d2b0b828ccdac5136e63f2f1a"},
		{&ucare.AkamaiURLTokenBuilder{CDNBase: "https://cdn.example.com", Secret: secret, Now: at(1633997100)}, "/" + id + "/",
			"https://cdn.example.com/" + id + "/?token=exp=1633997100~hmac=25c485fd7f85c19704013673c80d2a86df1b4241fb44cdfa7b7762cb27ef3f57"},
		{&ucare.AkamaiACLURLBuilder{Secret: secret, Now: at(2015971200)}, "3b278cee-47bd-4276-8d7d-9cde5902b18c~1/nth/0/",
			"https://ucarecdn.com/3b278cee-47bd-4276-8d7d-9cde5902b18c~1/nth/0/?token=exp=2015971200~acl=/3b278cee-47bd-4276-8d7d-9cde5902b18c%7e1/nth/0/~hmac=9df9a86460fab102dd0ecb4a36980a1f932b6ce5cf4bdc0307906451fcf8978e"},
		{&ucare.AkamaiURLTokenBuilder{Secret: secret, Now: at(2015971200)}, "3b278cee-47bd-4276-8d7d-9cde5902b18c~1/nth/0/",
			"https://ucarecdn.com/3b278cee-47bd-4276-8d7d-9cde5902b18c~1/nth/0/?token=exp=2015971200~hmac=3d18d965fbf5d93e434c11ca209e2a7068b50b00962ebf7a19eae357a098bdd2"},
	} {
		got, err := c.b.SecureURL(c.h)
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %s %v\nwant %s", c.h, got, err, c.want)
			continue
		}
		path, token, _ := strings.Cut(strings.SplitN(got, "/", 4)[3], "?token=")
		if err := securetoken.Verify(secret, token, "/"+path, time.Unix(1633997000, 0)); err != nil {
			t.Errorf("%s: verify: %v", got, err)
		}
	}
}
