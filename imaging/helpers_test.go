package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// memSource is content without a local file.
type memSource struct{ b []byte }

func (s memSource) Path() (string, bool)         { return "", false }
func (s memSource) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(s.b)), nil }
func (s memSource) Size() int64                  { return int64(len(s.b)) }

// fileSource is content in a local file.
type fileSource struct{ path string }

func (s fileSource) Path() (string, bool)         { return s.path, true }
func (s fileSource) Open() (io.ReadCloser, error) { return os.Open(s.path) }
func (s fileSource) Size() int64 {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func toFile(t testing.TB, b []byte, name string) fileSource {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return fileSource{p}
}

func newEngine(t testing.TB, o Options) *Engine {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pattern is a smooth test picture with four differently coloured
// quadrants, so turns and flips show, and gentle gradients, so resampling
// kernels agree closely.
func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			var c color.NRGBA
			switch {
			case fx < 0.5 && fy < 0.5:
				c = color.NRGBA{uint8(200 - 80*fy), uint8(40 + 60*fx), 50, 255}
			case fx >= 0.5 && fy < 0.5:
				c = color.NRGBA{40, uint8(170 + 50*fy), uint8(60 + 50*fx), 255}
			case fx < 0.5:
				c = color.NRGBA{50, uint8(60 + 40*fx), uint8(180 + 50*fy), 255}
			default:
				c = color.NRGBA{uint8(220 - 30*fx), uint8(210 - 30*fy), 60, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment holding only the
// Orientation tag right after the SOI marker of a JPEG.
func withOrientation(jpg []byte, o int) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, binary.LittleEndian, uint32(8)) // IFD0 offset
	binary.Write(&tiff, binary.LittleEndian, uint16(1)) // one entry
	binary.Write(&tiff, binary.LittleEndian, uint16(0x0112))
	binary.Write(&tiff, binary.LittleEndian, uint16(3)) // SHORT
	binary.Write(&tiff, binary.LittleEndian, uint32(1))
	binary.Write(&tiff, binary.LittleEndian, uint16(o))
	binary.Write(&tiff, binary.LittleEndian, uint16(0))
	binary.Write(&tiff, binary.LittleEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(jpg[2:])
	return out.Bytes()
}

// stored makes the pixels a camera stores for an upright picture shown
// with EXIF orientation o.
func stored(up *image.NRGBA, o int) *image.NRGBA {
	dw, dh := up.Bounds().Dx(), up.Bounds().Dy()
	sw, sh := dw, dh
	if o >= 5 {
		sw, sh = dh, dw
	}
	s := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 1:
				sx, sy = x, y
			case 2:
				sx, sy = sw-1-x, y
			case 3:
				sx, sy = sw-1-x, sh-1-y
			case 4:
				sx, sy = x, sh-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, sh-1-x
			case 7:
				sx, sy = sw-1-y, sh-1-x
			case 8:
				sx, sy = sw-1-y, x
			}
			s.SetNRGBA(sx, sy, up.NRGBAAt(x, y))
		}
	}
	return s
}

// decode reads a result into NRGBA.
func decode(t testing.TB, res *Result) *image.NRGBA {
	t.Helper()
	switch res.Format {
	case "jpeg", "png", "gif":
		img, _, err := image.Decode(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatalf("decoding %s: %v", res.Format, err)
		}
		return toNRGBA(img)
	}
	pix, w, h, _, err := decodeRGBA(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
}

func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

// mae is the mean absolute difference per channel (RGB, alpha when
// withAlpha) of two same-sized images.
func mae(t testing.TB, a, b *image.NRGBA, withAlpha bool) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes differ: %v vs %v", a.Bounds().Size(), b.Bounds().Size())
	}
	var sum float64
	var n int
	w, h := a.Bounds().Dx(), a.Bounds().Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p, q := a.NRGBAAt(x, y), b.NRGBAAt(x, y)
			sum += math.Abs(float64(p.R)-float64(q.R)) + math.Abs(float64(p.G)-float64(q.G)) + math.Abs(float64(p.B)-float64(q.B))
			n += 3
			if withAlpha {
				sum += math.Abs(float64(p.A) - float64(q.A))
				n++
			}
		}
	}
	return sum / float64(n)
}

// boxResize is an area-average resize, independent of libvips.
func boxResize(src *image.NRGBA, w, h int) *image.NRGBA {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	fx, fy := float64(sw)/float64(w), float64(sh)/float64(h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			x0, x1 := float64(x)*fx, float64(x+1)*fx
			y0, y1 := float64(y)*fy, float64(y+1)*fy
			var s [4]float64
			var area float64
			for yy := int(y0); yy < int(math.Ceil(y1)) && yy < sh; yy++ {
				wy := math.Min(y1, float64(yy+1)) - math.Max(y0, float64(yy))
				for xx := int(x0); xx < int(math.Ceil(x1)) && xx < sw; xx++ {
					wx := math.Min(x1, float64(xx+1)) - math.Max(x0, float64(xx))
					c := src.NRGBAAt(xx, yy)
					a := wx * wy
					s[0] += float64(c.R) * a
					s[1] += float64(c.G) * a
					s[2] += float64(c.B) * a
					s[3] += float64(c.A) * a
					area += a
				}
			}
			out.SetNRGBA(x, y, color.NRGBA{
				uint8(math.Round(s[0] / area)), uint8(math.Round(s[1] / area)),
				uint8(math.Round(s[2] / area)), uint8(math.Round(s[3] / area)),
			})
		}
	}
	return out
}

// mapPixels applies fn to every pixel.
func mapPixels(src *image.NRGBA, fn func(c color.NRGBA) color.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(src.Bounds())
	for y := src.Bounds().Min.Y; y < src.Bounds().Max.Y; y++ {
		for x := src.Bounds().Min.X; x < src.Bounds().Max.X; x++ {
			out.SetNRGBA(x, y, fn(src.NRGBAAt(x, y)))
		}
	}
	return out
}

// transform builds out(x, y) = src(fn(x, y)) for an output of w x h.
func transform(src *image.NRGBA, w, h int, fn func(x, y int) (int, int)) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := fn(x, y)
			out.SetNRGBA(x, y, src.NRGBAAt(sx, sy))
		}
	}
	return out
}

func clamp8(v float64) uint8 {
	v = math.Round(v)
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func px(v float64) cdnurl.Length  { return cdnurl.Length{Value: v} }
func pct(v float64) cdnurl.Length { return cdnurl.Length{Value: v, Percent: true} }

func size(w, h float64) cdnurl.Size {
	return cdnurl.Size{W: px(w), H: px(h), WSet: w > 0, HSet: h > 0}
}

func do(t testing.TB, e *Engine, src Source, ops ...cdnurl.Op) *Result {
	t.Helper()
	res, err := e.Do(context.Background(), "c0ffee00-0000-4000-8000-000000000000", src, ops, "", nil)
	if err != nil {
		t.Fatalf("Do(%v): %v", opNames(ops), err)
	}
	return res
}

func opNames(ops []cdnurl.Op) []string {
	var s []string
	for _, op := range ops {
		s = append(s, op.Name())
	}
	return s
}

func encodeGIF(t testing.TB, frames []*image.Paletted, delay int) []byte {
	t.Helper()
	g := &gif.GIF{}
	for _, f := range frames {
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, delay)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
