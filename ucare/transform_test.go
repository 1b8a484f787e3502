package ucare_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satchel-project/satchel/ucare"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestTransformationRoundTrip checks that what the builder makes is what the
// SDK's grammar (package cdnurl) reads back: the same typed operations, and
// the expected text. The CDN reads URLs with the same package; the server
// module's sdktest package fetches a few chains from the real CDN.
func TestTransformationRoundTrip(t *testing.T) {
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
			t.Errorf("%s: the grammar refuses it: %v", got, err)
			continue
		}
		if !reflect.DeepEqual(parsed, c.t.Ops()) && !(len(parsed) == 0 && len(c.t.Ops()) == 0) {
			t.Errorf("%s: parsed %#v, built %#v", got, parsed, c.t.Ops())
		}
		// And back: parse → builder → same text.
		pt, err := ucare.ParseTransformation("-/" + got)
		if err != nil || pt.String() != got {
			t.Errorf("%s: ParseTransformation gave %v, %v", got, pt, err)
		}
		if p, _ := c.t.Path(); got != "" && p != "-/"+got {
			t.Errorf("path %q", p)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestTransformationErrors(t *testing.T) {
	for name, tr := range map[string]*ucare.Transformation{
		"rotate 45":       ucare.NewTransformation().Rotate(45),
		"bad colour":      ucare.NewTransformation().SetFill("zzz"),
		"brightness 500":  ucare.NewTransformation().Brightness(500),
		"unknown filter":  ucare.NewTransformation().Filter("nope"),
		"json not last":   ucare.NewTransformation().JSON().Flip(),
		"overlay pos":     ucare.NewTransformation().Overlay("self", nil, ucare.Point(1, 1), nil),
		"bad format":      ucare.NewTransformation().Format("bmp"),
		"too many radii":  ucare.NewTransformation().BorderRadius(make([]cdnurl.Length, 5), nil),
		"quality unknown": ucare.NewTransformation().Quality("ultra"),
	} {
		if _, err := tr.Path(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c, _ := ucare.NewClient(ucare.Config{PublicKey: "p", CDNBase: "https://cdn.example.com"})
	id := "22240276-2f06-41f8-9411-755c8ce926ed"
	if got := c.CDNURL(id, ucare.NewTransformation().Resize(100, 0).Format("png")); got != "https://cdn.example.com/"+id+"/-/resize/100x/-/format/png/" {
		t.Fatalf("CDN URL %s", got)
	}
	if got := c.GroupArchiveURL(id+"~2", "zip", "all.zip"); got != "https://cdn.example.com/"+id+"~2/archive/zip/all.zip" {
		t.Fatalf("archive URL %s", got)
	}
}

// TestSecureURLs checks the builders against pyuploadcare's vectors (cdn.md §7);
// the server module's TestCDNSecureDeliveryTokenForms requests their URLs
// from the real CDN.
func TestSecureURLs(t *testing.T) {
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
		}
	}
	c, _ := ucare.NewClient(ucare.Config{PublicKey: "p", SecureURLBuilder: &ucare.AkamaiURLTokenBuilder{Secret: secret}})
	if u, err := c.SecureURL(id); err != nil || !strings.Contains(u, "?token=exp=") {
		t.Fatalf("client secure URL: %s %v", u, err)
	}
	if _, err := (&ucare.AkamaiACLURLBuilder{Secret: "not hex"}).SecureURL(id); err == nil {
		t.Fatal("a bad secret was accepted")
	}
}

func TestConversionPaths(t *testing.T) {
	const id = "740e1b8c-1ad8-4324-b7ec-112c79d8eac2"
	for _, c := range []struct {
		p    interface{ Path() (string, error) }
		want string
	}{
		{ucare.DocumentConversion{File: id}, id + "/document/-/format/pdf/"},
		{ucare.DocumentConversion{File: id, Format: "jpg", Page: 2}, id + "/document/-/format/jpg/-/page/2/"},
		{ucare.DocumentConversion{File: id, Page: 1}, id + "/document/-/format/png/-/page/1/"},
		{ucare.DocumentConversion{File: "https://ucarecdn.com/" + id + "/", Format: "docx"}, "https://ucarecdn.com/" + id + "/document/-/format/docx/"},
		{ucare.VideoConversion{File: id, Format: "webm", Thumbs: 2}, id + "/video/-/format/webm/-/thumbs~2/"},
		{ucare.VideoConversion{File: id, Width: 640, Height: 480, ResizeMode: "add_padding", Quality: "lighter", CutStart: "2:30.535", CutLength: "2:20.0", Thumbs: 10},
			id + "/video/-/size/640x480/add_padding/-/quality/lighter/-/cut/2:30.535/2:20.0/-/thumbs~10/"},
		{ucare.VideoConversion{File: id, Height: 480}, id + "/video/-/size/x480/"},
		{ucare.VideoConversion{File: id}, id + "/video/"},
	} {
		got, err := c.p.Path()
		if err != nil || got != c.want {
			t.Errorf("got %q %v, want %q", got, err, c.want)
		}
	}
	for _, bad := range []interface{ Path() (string, error) }{
		ucare.DocumentConversion{File: "nope"},
		ucare.DocumentConversion{File: id, Format: "exe"},
		ucare.VideoConversion{File: id, Width: 641},
		ucare.VideoConversion{File: id, Format: "avi"},
		ucare.VideoConversion{File: id, Thumbs: 51},
		ucare.VideoConversion{File: id, CutStart: "1"},
		ucare.VideoConversion{File: id, ResizeMode: "change_ratio"},
	} {
		if p, err := bad.Path(); err == nil {
			t.Errorf("%+v: accepted as %q", bad, p)
		}
	}
}

// TestConversionAndAddonClient exercises the conversion and add-on calls
// against a stub that answers as rest-api.md §12–13 describe: Satchel has
// no conversion or add-on endpoints yet, so this checks the client side only.
func TestConversionAndAddonClient(t *testing.T) {
	var polls atomic.Int32
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Uploadcare p:") || r.Header.Get("Date") == "" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.uploadcare-v0.7+json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/convert/document/":
			var body struct {
				Paths       []string `json:"paths"`
				Store       string   `json:"store"`
				SaveInGroup string   `json:"save_in_group"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			if body.Store != "true" || body.SaveInGroup != "1" {
				w.WriteHeader(400)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"problems": map[string]string{body.Paths[1]: "Bad path"},
				"result": []any{map[string]any{"original_source": body.Paths[0], "token": 445630637, "uuid": "28843a09-dd3d-4b8a-ad4f-8aa5f8f60ff2"}}})
		case r.URL.Path == "/convert/document/status/445630637/":
			st := "processing"
			if polls.Add(1) >= 3 {
				st = "finished"
			}
			json.NewEncoder(w).Encode(map[string]any{"status": st, "error": nil, "result": map[string]string{"uuid": "28843a09-dd3d-4b8a-ad4f-8aa5f8f60ff2"}})
		case r.URL.Path == "/convert/document/88a51210-bd69-4411-bc72-a9952d9512cd/":
			w.Write([]byte(`{"error":null,"format":{"name":"pdf","conversion_formats":[{"name":"jpg"}],"converted_groups":{"jpg":"f56f1e80-31f8-426e-9213-690861252070~4"}}}`))
		case r.Method == "POST" && r.URL.Path == "/convert/video/":
			w.Write([]byte(`{"problems":{},"result":[{"original_source":"x","token":7,"uuid":"u","thumbnails_group_uuid":"g~2"}]}`))
		case r.URL.Path == "/convert/video/status/7/":
			w.Write([]byte(`{"status":"failed","error":"codec","result":{"uuid":"u","thumbnails_group_uuid":"g~2"}}`))
		case r.Method == "POST" && r.URL.Path == "/addons/remove_bg/execute/":
			var body struct {
				Target string         `json:"target"`
				Params map[string]any `json:"params"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			if body.Target != "t" || body.Params["crop"] != true {
				w.WriteHeader(400)
				return
			}
			w.Write([]byte(`{"request_id":"8db3c8b4-2dea-4146-bcdb-63387e2b33c1"}`))
		case r.URL.Path == "/addons/remove_bg/execute/status/" && r.URL.Query().Get("request_id") == "8db3c8b4-2dea-4146-bcdb-63387e2b33c1":
			w.Write([]byte(`{"status":"done","result":{"file_id":"f"}}`))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"detail":"Not found."}`))
		}
	}))
	defer stub.Close()
	c, _ := ucare.NewClient(ucare.Config{PublicKey: "p", SecretKey: "s", APIBase: stub.URL})
	ctx := context.Background()
	yes := true
	p, _ := ucare.DocumentConversion{File: "88a51210-bd69-4411-bc72-a9952d9512cd"}.Path()
	res, err := c.ConvertDocuments(ctx, []string{p, "bad"}, &ucare.ConvertOptions{Store: &yes, SaveInGroup: true})
	if err != nil || len(res.Jobs) != 1 || res.Jobs[0].OriginalSource != p || res.Jobs[0].Token != 445630637 || res.Problems["bad"] == "" {
		t.Fatalf("convert: %+v %v", res, err)
	}
	st, err := c.WaitDocumentConversion(ctx, res.Jobs[0].Token, &ucare.WaitOptions{PollInterval: time.Millisecond})
	if err != nil || st.Status != "finished" || st.Result.UUID != res.Jobs[0].UUID || polls.Load() != 3 {
		t.Fatalf("wait: %+v %v after %d polls", st, err, polls.Load())
	}
	g, err := c.DocumentConvertedGroup(ctx, "88a51210-bd69-4411-bc72-a9952d9512cd", "jpg")
	if err != nil || g != "f56f1e80-31f8-426e-9213-690861252070~4" {
		t.Fatalf("converted group: %q %v", g, err)
	}
	vres, err := c.ConvertVideos(ctx, []string{"x"}, nil)
	if err != nil || vres.Jobs[0].ThumbnailsGroupUUID != "g~2" {
		t.Fatalf("video: %+v %v", vres, err)
	}
	_, err = c.WaitVideoConversion(ctx, 7, nil)
	var je *ucare.JobError
	if !errors.As(err, &je) || je.Status != "failed" || je.Message != "codec" {
		t.Fatalf("failed video: %v", err)
	}
	rid, err := c.ExecuteAddon(ctx, ucare.AddonRemoveBG, "t", ucare.RemoveBGParams{Crop: &yes})
	if err != nil {
		t.Fatal(err)
	}
	ast, err := c.WaitAddon(ctx, ucare.AddonRemoveBG, rid, nil)
	if err != nil || ast.Result == nil || ast.Result.FileID != "f" {
		t.Fatalf("add-on: %+v %v", ast, err)
	}
	if _, err := c.AddonExecutionStatus(ctx, ucare.AddonClamAV, "x"); !ucare.IsNotFound(err) {
		t.Fatalf("unknown add-on run: %v", err)
	}
	ctxT, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	polls.Store(-1000)
	if _, err := c.WaitDocumentConversion(ctxT, 445630637, &ucare.WaitOptions{PollInterval: 5 * time.Millisecond}); !errors.As(err, new(*ucare.TimeoutError)) {
		t.Fatalf("wait past the deadline: %v", err)
	}
}
