package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"testing"

	"github.com/satchel-project/satchel/ucare"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestTransformationsOnCDN requests the URLs the SDK builds for a few
// transformation chains from the real CDN and checks the images it
// renders. That the builder's text is what the CDN's grammar reads is the
// SDK's own test (ucare.TestTransformationRoundTrip: the CDN parses with
// the same ucare/cdnurl); secure URLs against the real CDN are
// server.TestCDNSecureDeliveryTokenForms.
func TestTransformationsOnCDN(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	c := n.client(t, nil)
	ctx := context.Background()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.White)
	var src bytes.Buffer
	if err := png.Encode(&src, img); err != nil {
		t.Fatal(err)
	}
	f, err := c.Upload(ctx, bytes.NewReader(src.Bytes()), &ucare.UploadOptions{Filename: "pic.png", Store: ucare.StoreTrue})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t      *ucare.Transformation
		format string
		w, h   int
	}{
		{ucare.NewTransformation().Resize(32, 0).Format("png"), "png", 32, 24},
		{ucare.NewTransformation().Crop(ucare.Size(20, 10), ucare.Point(4, 4)).Format("png"), "png", 20, 10},
		{ucare.NewTransformation().PreviewBox(16, 16).Format("jpg"), "jpeg", 16, 12},
		{ucare.NewTransformation().Preview().Rotate(-90).Format("png"), "png", 48, 64},
		{ucare.NewTransformation().ScaleCrop(10, 10, ucare.Aligned(cdnurl.AlignCenter)).Grayscale().Format("png"), "png", 10, 10},
	} {
		if err := tc.t.Err(); err != nil {
			t.Fatalf("%s: %v", tc.t, err)
		}
		u := c.CDNURL(f.UUID, tc.t)
		var out bytes.Buffer
		if _, err := c.Download(ctx, u, &out); err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		cfg, format, err := image.DecodeConfig(&out)
		if err != nil || format != tc.format || cfg.Width != tc.w || cfg.Height != tc.h {
			t.Errorf("%s: %s %dx%d (%v), want %s %dx%d", u, format, cfg.Width, cfg.Height, err, tc.format, tc.w, tc.h)
		}
	}
	var out bytes.Buffer
	if _, err := c.Download(ctx, c.CDNURL(f.UUID, ucare.NewTransformation().Resize(32, 0).JSON()), &out); err != nil {
		t.Fatal(err)
	}
	var info struct{ Width, Height int }
	if err := json.Unmarshal(out.Bytes(), &info); err != nil || info.Width != 32 || info.Height != 24 {
		t.Errorf("json: %s (%v), want 32x24", out.Bytes(), err)
	}
}
