package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/satchel-project/satchel"
)

// inspectImage runs Inspect on data and insists that it is an image.
func inspectImage(t *testing.T, name, mime string, data []byte) *satchel.ImageInfo {
	t.Helper()
	info, isImage, err := New(Options{}).Inspect(context.Background(), writeTemp(t, name, data), mime)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if info.Mime.Mime != mime {
		t.Errorf("mime = %q, want %q", info.Mime.Mime, mime)
	}
	if !isImage || info.Image == nil {
		t.Fatalf("isImage = %v, image = %v; want an image", isImage, info.Image)
	}
	return info.Image
}

func checkImage(t *testing.T, got *satchel.ImageInfo, format, mode string, w, h int) {
	t.Helper()
	if got.Format != format || got.ColorMode != mode || got.Width != w || got.Height != h {
		t.Errorf("got %s %s %dx%d, want %s %s %dx%d",
			got.Format, got.ColorMode, got.Width, got.Height, format, mode, w, h)
	}
}

func checkDPI(t *testing.T, got []float64, want ...float64) {
	t.Helper()
	if len(want) == 0 {
		if got != nil {
			t.Errorf("dpi = %v, want null", got)
		}
		return
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("dpi = %v, want %v", got, want)
	}
}

func TestPNGRGBA(t *testing.T) {
	img := inspectImage(t, "a.png", "image/png", encodePNG(t, gradient(40, 30)))
	checkImage(t, img, "PNG", "RGBA", 40, 30)
	checkDPI(t, img.DPI)
	if img.Orientation != nil || img.GeoLocation != nil || img.DatetimeOriginal != nil || img.Sequence {
		t.Errorf("unexpected metadata: %+v", img)
	}
	// The JSON shape keeps absent values as null.
	b, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"color_mode":"RGBA","orientation":null,"format":"PNG","height":30,"width":40,` +
		`"geo_location":null,"datetime_original":null,"dpi":null,"sequence":false}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
}

func TestPNGGrayWithResolution(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 17, 9))
	data := insertPNGChunk(encodePNG(t, g), "pHYs", physChunk(11811)) // 300 dpi
	img := inspectImage(t, "g.png", "image/png", data)
	checkImage(t, img, "PNG", "L", 17, 9)
	checkDPI(t, img.DPI, 300, 300)
}

func TestPNGGrayAlphaAndRGB(t *testing.T) {
	rgb := image.NewRGBA(image.Rect(0, 0, 5, 4))
	for i := range rgb.Pix {
		rgb.Pix[i] = 255 // opaque: the encoder writes RGB
	}
	checkImage(t, inspectImage(t, "rgb.png", "image/png", encodePNG(t, rgb)), "PNG", "RGB", 5, 4)
}

func TestPNGPalette(t *testing.T) {
	p := image.NewPaletted(image.Rect(0, 0, 8, 8), palette.Plan9)
	p.SetColorIndex(1, 1, 7)
	img := inspectImage(t, "p.png", "image/png", encodePNG(t, p))
	checkImage(t, img, "PNG", "P", 8, 8)
}

func TestJPEGWithEXIF(t *testing.T) {
	ifd0 := []tiffEntry{
		shortEntry(0x0112, 6), // Orientation: rotate 90 CW
		rationalEntry(0x011A, [2]uint32{300, 1}),
		rationalEntry(0x011B, [2]uint32{300, 1}),
		shortEntry(0x0128, 2), // inches
	}
	exif := []tiffEntry{asciiEntry(0x9003, "2021:03:04 05:06:07")}
	gps := []tiffEntry{
		{0x0000, tBYTE, 4, []byte{2, 2, 0, 0}},
		asciiEntry(0x0001, "N"),
		rationalEntry(0x0002, [2]uint32{51, 1}, [2]uint32{30, 1}, [2]uint32{1234, 100}),
		asciiEntry(0x0003, "W"),
		rationalEntry(0x0004, [2]uint32{0, 1}, [2]uint32{7, 1}, [2]uint32{396, 10}),
	}
	data := insertJPEGSegment(encodeJPEG(t, gradient(64, 48)), 0xE1, exifBody(ifd0, exif, gps))
	img := inspectImage(t, "e.jpg", "image/jpeg", data)
	checkImage(t, img, "JPEG", "RGB", 64, 48)
	if img.Orientation == nil || *img.Orientation != 6 {
		t.Errorf("orientation = %v, want 6", img.Orientation)
	}
	if img.DatetimeOriginal == nil || *img.DatetimeOriginal != "2021-03-04T05:06:07" {
		t.Errorf("datetime_original = %v", img.DatetimeOriginal)
	}
	wantLat := 51 + 30.0/60 + 12.34/3600
	wantLon := -(7.0/60 + 39.6/3600)
	if g := img.GeoLocation; g == nil || math.Abs(g.Latitude-wantLat) > 1e-9 || math.Abs(g.Longitude-wantLon) > 1e-9 {
		t.Errorf("geo_location = %+v, want %v,%v", img.GeoLocation, wantLat, wantLon)
	}
	checkDPI(t, img.DPI, 300, 300)
	if img.Sequence {
		t.Error("sequence = true")
	}
}

func TestJPEGResolution(t *testing.T) {
	plain := encodeJPEG(t, gradient(10, 10))
	t.Run("none", func(t *testing.T) {
		checkDPI(t, inspectImage(t, "n.jpg", "image/jpeg", plain).DPI)
	})
	t.Run("jfif inches", func(t *testing.T) {
		data := insertJPEGSegment(plain, 0xE0, jfifBody(1, 96, 120))
		checkDPI(t, inspectImage(t, "i.jpg", "image/jpeg", data).DPI, 96, 120)
	})
	t.Run("jfif cm", func(t *testing.T) {
		data := insertJPEGSegment(plain, 0xE0, jfifBody(2, 118, 118))
		checkDPI(t, inspectImage(t, "c.jpg", "image/jpeg", data).DPI, 300, 300)
	})
	t.Run("jfif aspect only", func(t *testing.T) {
		data := insertJPEGSegment(plain, 0xE0, jfifBody(0, 1, 1))
		checkDPI(t, inspectImage(t, "a.jpg", "image/jpeg", data).DPI)
	})
	t.Run("exif without resolution", func(t *testing.T) {
		data := insertJPEGSegment(plain, 0xE1, exifBody([]tiffEntry{shortEntry(0x0112, 1)}, nil, nil))
		img := inspectImage(t, "x.jpg", "image/jpeg", data)
		checkDPI(t, img.DPI, 72, 72)
		if img.Orientation == nil || *img.Orientation != 1 {
			t.Errorf("orientation = %v, want 1", img.Orientation)
		}
		if img.GeoLocation != nil || img.DatetimeOriginal != nil {
			t.Errorf("unexpected metadata %+v", img)
		}
	})
}

func TestGrayJPEG(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 12, 7))
	checkImage(t, inspectImage(t, "g.jpg", "image/jpeg", encodeJPEG(t, g)), "JPEG", "L", 12, 7)
}

func TestGIF(t *testing.T) {
	pal := color.Palette{color.Black, color.White, color.RGBA{255, 0, 0, 255}}
	anim := &gif.GIF{}
	for i := 0; i < 3; i++ {
		f := image.NewPaletted(image.Rect(0, 0, 20, 10), pal)
		f.SetColorIndex(i, i, uint8(i%len(pal)))
		anim.Image = append(anim.Image, f)
		anim.Delay = append(anim.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		t.Fatal(err)
	}
	img := inspectImage(t, "a.gif", "image/gif", b.Bytes())
	checkImage(t, img, "GIF", "P", 20, 10)
	if !img.Sequence {
		t.Error("sequence = false for 3 frames")
	}

	b.Reset()
	if err := gif.Encode(&b, anim.Image[0], nil); err != nil {
		t.Fatal(err)
	}
	if inspectImage(t, "s.gif", "image/gif", b.Bytes()).Sequence {
		t.Error("sequence = true for a single frame")
	}
}

// vipsConvert makes a file with the vips command line tool, skipping the
// test when the tool or the conversion is not available.
func vipsConvert(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	vips, err := exec.LookPath("vips")
	if err != nil {
		t.Skip("vips command not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.png")
	if err := os.WriteFile(src, encodePNG(t, gradient(40, 30)), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	full := []string{args[0], src, dst}
	full = append(full, args[1:]...)
	if out, err := exec.Command(vips, full...).CombinedOutput(); err != nil {
		t.Skipf("vips %v: %v: %s", full, err, out)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVipsMadeFormats(t *testing.T) {
	cases := []struct {
		name, file, mime, format, mode string
		args                           []string
		dpi                            []float64
	}{
		{"cmyk jpeg", "c.jpg", "image/jpeg", "JPEG", "CMYK", []string{"colourspace", "cmyk"}, []float64{72, 72}}, // EXIF written by vips
		{"tiff", "t.tif", "image/tiff", "TIFF", "RGBA", []string{"copy", "--xres", "11.811", "--yres", "11.811"}, []float64{300, 300}},
		{"webp", "w.webp", "image/webp", "WEBP", "RGBA", []string{"copy"}, nil},
		{"avif", "a.avif", "image/avif", "AVIF", "RGBA", []string{"copy"}, nil},
		{"heic", "h.heic", "image/heic", "HEIC", "RGBA", []string{"copy"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := vipsConvert(t, c.file, c.args...)
			img := inspectImage(t, c.file, c.mime, data)
			if img.Format != c.format || img.Width != 40 || img.Height != 30 {
				t.Errorf("got %s %dx%d", img.Format, img.Width, img.Height)
			}
			if img.ColorMode != c.mode {
				t.Errorf("color_mode = %s, want %s", img.ColorMode, c.mode)
			}
			checkDPI(t, img.DPI, c.dpi...)
		})
	}
}

func TestSVG(t *testing.T) {
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="10" height="10"/></svg>`)
	img := inspectImage(t, "s.svg", "image/svg+xml", svg)
	if img.Format != "SVG" || img.Width != 120 || img.Height != 80 {
		t.Errorf("got %+v", img)
	}
}

func TestNotImages(t *testing.T) {
	jpg := encodeJPEG(t, gradient(64, 48))
	cases := []struct {
		name, mime string
		data       []byte
	}{
		{"text", "text/plain", []byte("hello, world\n")},
		{"text claiming png", "image/png", []byte("hello, world\n")},
		{"truncated jpeg", "image/jpeg", jpg[:40]},
		{"jpeg soi only", "image/jpeg", []byte{0xFF, 0xD8, 0xFF}},
		{"empty", "image/gif", nil},
		{"pdf", "application/pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, isImage, err := New(Options{}).Inspect(context.Background(), writeTemp(t, "f", c.data), c.mime)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if isImage || info.Image != nil || info.Video != nil {
				t.Errorf("isImage = %v, info = %+v", isImage, info)
			}
			if info.Mime.Mime != c.mime {
				t.Errorf("mime = %q", info.Mime.Mime)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	info, isImage, err := New(Options{}).Inspect(context.Background(), filepath.Join(t.TempDir(), "nope"), "image/png")
	if err != nil || isImage || info.Image != nil {
		t.Errorf("got %+v %v %v", info, isImage, err)
	}
}

func TestMimeInfo(t *testing.T) {
	info, _, err := New(Options{}).Inspect(context.Background(), writeTemp(t, "x", []byte("a,b\n")), "Text/CSV; charset=utf-8")
	if err != nil {
		t.Fatal(err)
	}
	want := satchel.MimeInfo{Mime: "text/csv", Type: "text", Subtype: "csv"}
	if info.Mime != want {
		t.Errorf("mime = %+v", info.Mime)
	}
	info, _, _ = New(Options{}).Inspect(context.Background(), writeTemp(t, "x", nil), "")
	if info.Mime.Mime != "application/octet-stream" {
		t.Errorf("empty mime became %+v", info.Mime)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := writeTemp(t, "a.png", encodePNG(t, gradient(4, 4)))
	if _, _, err := New(Options{}).Inspect(ctx, path, "image/png"); err == nil {
		t.Error("no error for a cancelled context")
	}
}

func TestOversized(t *testing.T) {
	i := New(Options{MaxPixels: 100})
	if !i.Oversized(&satchel.ImageInfo{Width: 11, Height: 10}) || i.Oversized(&satchel.ImageInfo{Width: 10, Height: 10}) {
		t.Error("Oversized wrong")
	}
	if New(Options{}).Oversized(&satchel.ImageInfo{Width: 1 << 20, Height: 1 << 20}) {
		t.Error("no limit should never be oversized")
	}
}

func BenchmarkInspectJPEG(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i)
	}
	path := writeTemp(b, "big.jpg", encodeJPEG(b, img))
	in := New(Options{})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		info, ok, err := in.Inspect(ctx, path, "image/jpeg")
		if err != nil || !ok || info.Image.Width != 4000 {
			b.Fatalf("%+v %v %v", info, ok, err)
		}
	}
}

func TestNoDescriptorLeak(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(ents)
	}
	in := New(Options{})
	paths := []string{
		writeTemp(t, "a.png", encodePNG(t, gradient(8, 8))),
		writeTemp(t, "a.jpg", encodeJPEG(t, gradient(8, 8))),
	}
	for _, p := range paths { // warm up libvips
		in.Inspect(context.Background(), p, "image/png")
	}
	before := fds()
	for i := 0; i < 200; i++ {
		for _, p := range paths {
			if _, ok, err := in.Inspect(context.Background(), p, "image/png"); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
	}
	if after := fds(); after > before+4 {
		t.Errorf("open descriptors grew from %d to %d", before, after)
	}
}

func TestConcurrent(t *testing.T) {
	in := New(Options{})
	files := []struct{ path, mime string }{
		{writeTemp(t, "a.png", encodePNG(t, gradient(30, 20))), "image/png"},
		{writeTemp(t, "a.jpg", encodeJPEG(t, gradient(30, 20))), "image/jpeg"},
		{writeTemp(t, "bad.jpg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16}), "image/jpeg"},
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for n := 0; n < 50; n++ {
				f := files[(g+n)%len(files)]
				info, ok, err := in.Inspect(context.Background(), f.path, f.mime)
				if err != nil {
					errs <- err
					return
				}
				if want := f.mime != "image/jpeg" || !strings.Contains(f.path, "bad"); ok != want || (ok && info.Image.Width != 30) {
					errs <- fmt.Errorf("%s: ok=%v info=%+v", f.path, ok, info.Image)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
