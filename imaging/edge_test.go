package imaging

import (
	"context"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestEdgeCases runs every operation over awkward inputs: they must not
// fail (or fail with *OpError / ErrTooLarge) and must keep sane sizes.
func TestEdgeCases(t *testing.T) {
	e := newEngine(t, Options{})
	gray := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 30, 20), color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 0, 0, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 2)
	}
	one, _ := threeFrames(t, 8, 8)
	sources := map[string]Source{
		"1x1 png":      memSource{encodePNG(t, pattern(1, 1))},
		"1x1 jpeg":     memSource{encodeJPEG(t, pattern(1, 1), 90)},
		"wide png":     memSource{encodePNG(t, pattern(1000, 2))},
		"gray jpeg":    memSource{encodeJPEG(t, gray, 90)},
		"palette png":  memSource{encodePNG(t, pal)},
		"gif":          memSource{encodeGIF(t, []*image.Paletted{pal}, 0)},
		"animated gif": memSource{one},
	}
	if vips, err := exec.LookPath("vips"); err == nil {
		dir := t.TempDir()
		in := filepath.Join(dir, "in.png")
		os.WriteFile(in, encodePNG(t, pattern(40, 30)), 0o644)
		for _, ext := range []string{"tif", "avif", "webp"} {
			out := filepath.Join(dir, "out."+ext)
			if b, err := exec.Command(vips, "copy", in, out).CombinedOutput(); err != nil {
				t.Fatalf("vips copy %s: %v %s", ext, err, b)
			}
			b, _ := os.ReadFile(out)
			sources[ext] = memSource{b}
		}
	}
	red := cdnurl.Color{R: 255, A: 128}
	one10 := cdnurl.Size{W: px(10), H: px(10), WSet: true, HSet: true}
	opsets := [][]cdnurl.Op{
		nil,
		{cdnurl.Preview{}},
		{cdnurl.Resize{Size: size(7, 3)}},
		{cdnurl.Resize{Size: size(0, 1)}},
		{cdnurl.ScaleCrop{Size: size(5, 9)}},
		{cdnurl.ScaleCrop{Size: size(5, 9), Type: "smart"}},
		{cdnurl.Stretch{Mode: "fill"}, cdnurl.SetFill{Color: red}, cdnurl.Resize{Size: size(50, 50)}},
		{cdnurl.Crop{Size: &one10, Position: &cdnurl.Position{X: px(-3), Y: px(-3)}}},
		{cdnurl.Crop{Ratio: &cdnurl.Ratio{A: 16, B: 9}}},
		{cdnurl.Crop{Object: "face"}},
		{cdnurl.BorderRadius{Radii: []cdnurl.Length{pct(50)}, Vertical: []cdnurl.Length{px(2), px(3)}}},
		{cdnurl.Rotate{Degrees: -90}, cdnurl.Flip{}, cdnurl.Mirror{}},
		{cdnurl.Adjust{Op: "gamma", Value: 0}, cdnurl.Adjust{Op: "vibrance", Value: -100}, cdnurl.Adjust{Op: "contrast", Value: -100}},
		{cdnurl.Enhance{Strength: 50}, cdnurl.Grayscale{}, cdnurl.Invert{}},
		{cdnurl.Blur{Strength: 5000}},
		{cdnurl.Blur{Strength: 10, Amount: -200, HasAmount: true}},
		{cdnurl.BlurRegion{Size: size(100, 100), Position: cdnurl.Position{X: px(-50), Y: px(-50)}}},
		{cdnurl.Sharp{Strength: 20}},
		{cdnurl.Overlay{UUID: "self", Size: &one10, Opacity: &cdnurl.Length{Value: 30, Percent: true}}},
		{cdnurl.Rect{Color: red, Size: size(100, 100), Position: cdnurl.Position{Align: cdnurl.AlignRight}}},
		{cdnurl.TextBox{Mode: "fit"}, cdnurl.Text{Size: size(0, 0), Text: "x y z"}},
		{cdnurl.Format{Format: "auto"}, cdnurl.Quality{Level: "smart_retina"}},
		{cdnurl.Format{Format: "gif"}},
		{cdnurl.JSON{}},
		{cdnurl.MainColors{N: 256}},
	}
	defaults := map[string]string{
		"1x1 png": "png", "1x1 jpeg": "jpeg", "gray jpeg": "jpeg", "palette png": "png",
		"gif": "png", "animated gif": "gif", "tif": "jpeg", "avif": "avif", "webp": "webp",
	}
	for name, src := range sources {
		if want := defaults[name]; want != "" {
			if res := do(t, e, src); res.Format != want {
				t.Errorf("%s: default output %s, want %s", name, res.Format, want)
			}
		}
		for _, ops := range opsets {
			res, err := e.Do(context.Background(), "u", src, ops, "image/avif", nil)
			if err != nil {
				if !isOpError(err) && err != ErrTooLarge {
					t.Errorf("%s %v: %v", name, opNames(ops), err)
				}
				continue
			}
			if res.Format == "json" {
				continue
			}
			if res.Width < 1 || res.Height < 1 || len(res.Body) == 0 {
				t.Errorf("%s %v: %dx%d, %d bytes", name, opNames(ops), res.Width, res.Height, len(res.Body))
				continue
			}
			got := decode(t, res)
			if got.Bounds().Dx() != res.Width || got.Bounds().Dy() != res.Height {
				t.Errorf("%s %v: %v, result says %dx%d", name, opNames(ops), got.Bounds().Size(), res.Width, res.Height)
			}
		}
	}
}
