package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"io"
	"math"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

func TestFormats(t *testing.T) {
	e := newEngine(t, Options{})
	opaque := pattern(64, 48)
	alpha := pattern(64, 48)
	for y := 0; y < 48; y++ {
		for x := 0; x < 32; x++ {
			alpha.Pix[y*alpha.Stride+x*4+3] = 0
		}
	}
	jpg, pngOpaque, pngAlpha := &memSource{encodeJPEG(t, opaque, 95)}, &memSource{encodePNG(t, opaque)}, &memSource{encodePNG(t, alpha)}
	auto := []cdnurl.Op{cdnurl.Format{Format: "auto"}}
	cases := []struct {
		name   string
		src    *memSource
		ops    []cdnurl.Op
		accept string
		want   string
	}{
		{"jpeg stays", jpg, nil, "", "jpeg"},
		{"png stays", pngOpaque, nil, "", "png"},
		{"preserve", pngOpaque, []cdnurl.Op{cdnurl.Format{Format: "preserve"}}, "image/webp", "png"},
		{"auto avif", jpg, auto, "image/avif,image/webp,image/apng,*/*;q=0.8", "avif"},
		{"auto webp", jpg, auto, "image/webp,*/*", "webp"},
		{"auto avif refused", jpg, auto, "image/avif;q=0,image/webp", "webp"},
		{"auto none jpeg", jpg, auto, "", "jpeg"},
		{"auto none alpha png", pngAlpha, auto, "*/*", "png"},
		{"auto webp alpha", pngAlpha, auto, "image/webp", "webp"},
		{"explicit webp", jpg, []cdnurl.Op{cdnurl.Format{Format: "webp"}}, "", "webp"},
		{"explicit avif", pngAlpha, []cdnurl.Op{cdnurl.Format{Format: "avif"}}, "", "avif"},
		{"explicit gif", jpg, []cdnurl.Op{cdnurl.Format{Format: "gif"}}, "", "gif"},
		{"explicit png", jpg, []cdnurl.Op{cdnurl.Format{Format: "png"}}, "", "png"},
		{"alpha to jpeg", pngAlpha, []cdnurl.Op{cdnurl.Format{Format: "jpeg"}}, "", "jpeg"},
	}
	magic := map[string]func([]byte) bool{
		"jpeg": func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) },
		"png":  func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG")) },
		"gif":  func(b []byte) bool { return bytes.HasPrefix(b, []byte("GIF8")) },
		"webp": func(b []byte) bool { return len(b) > 12 && string(b[8:12]) == "WEBP" },
		"avif": func(b []byte) bool { return len(b) > 12 && string(b[4:12]) == "ftypavif" },
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := e.Do(context.Background(), "u", c.src, c.ops, c.accept, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != c.want || res.ContentType != "image/"+c.want || !magic[c.want](res.Body) {
				t.Fatalf("got %s (%s), want %s", res.Format, res.ContentType, c.want)
			}
			got := decode(t, res)
			want, tol := opaque, 6.0
			if c.src == pngAlpha {
				want = alpha
				switch c.want {
				case "jpeg":
					// Flattened on white.
					want = mapPixels(alpha, func(p color.NRGBA) color.NRGBA {
						if p.A == 0 {
							return color.NRGBA{255, 255, 255, 255}
						}
						return p
					})
				case "gif":
					tol = 12
				}
			}
			if c.want == "gif" {
				tol = 12
			}
			if d := mae(t, got, want, c.src == pngAlpha && c.want != "jpeg"); d > tol {
				t.Errorf("mean abs error %.2f", d)
			}
		})
	}
}

func TestQualityAndProgressive(t *testing.T) {
	e := newEngine(t, Options{})
	in := memSource{encodeJPEG(t, noisy(256, 192, 1), 95)}
	var prev int
	for _, q := range []string{"lightest", "lighter", "normal", "better", "best"} {
		res := do(t, e, in, cdnurl.Quality{Level: q})
		if len(res.Body) <= prev {
			t.Errorf("quality %s: %d bytes, not more than the level below (%d)", q, len(res.Body), prev)
		}
		prev = len(res.Body)
	}
	base := do(t, e, in)
	prog := do(t, e, in, cdnurl.Progressive{On: true})
	if bytes.Contains(base.Body, []byte{0xFF, 0xC2}) || !bytes.Contains(prog.Body, []byte{0xFF, 0xC2}) {
		t.Error("progressive/yes should (only) produce a progressive JPEG")
	}
}

// noisy is pattern with seeded noise, closer to a photo for encoders.
func noisy(w, h int, seed uint32) *image.NRGBA {
	img := pattern(w, h)
	s := seed
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		s = s*1664525 + 1013904223
		img.Pix[i] = clamp8(float64(img.Pix[i]) + float64(int(s>>24)%31-15))
	}
	return img
}

func threeFrames(t *testing.T, w, h int) ([]byte, []color.NRGBA) {
	cols := []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}
	var frames []*image.Paletted
	for _, c := range cols {
		f := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if x < w/4 {
					f.Set(x, y, color.NRGBA{255, 255, 255, 255}) // a white band on the left
				} else {
					f.Set(x, y, c)
				}
			}
		}
		frames = append(frames, f)
	}
	return encodeGIF(t, frames, 10), cols
}

func TestAnimatedGIF(t *testing.T) {
	e := newEngine(t, Options{})
	b, cols := threeFrames(t, 80, 60)
	in := memSource{b}

	check := func(res *Result, w, h int, mirrored bool) {
		t.Helper()
		g, err := gif.DecodeAll(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Image) != 3 || g.Config.Width != w || g.Config.Height != h || res.Width != w || res.Height != h {
			t.Fatalf("%d frames of %dx%d (result %dx%d), want 3 of %dx%d", len(g.Image), g.Config.Width, g.Config.Height, res.Width, res.Height, w, h)
		}
		for i, f := range g.Image {
			x := w * 3 / 4
			if mirrored {
				x = w / 4
			}
			r, gg, bb, _ := f.At(x, h/2).RGBA()
			c := cols[i]
			if math.Abs(float64(r>>8)-float64(c.R)) > 8 || math.Abs(float64(gg>>8)-float64(c.G)) > 8 || math.Abs(float64(bb>>8)-float64(c.B)) > 8 {
				t.Errorf("frame %d is %d,%d,%d, want %v", i, r>>8, gg>>8, bb>>8, c)
			}
			if g.Delay[i] != 10 {
				t.Errorf("frame %d delay %d", i, g.Delay[i])
			}
		}
	}
	res := do(t, e, in, cdnurl.Preview{Size: &cdnurl.Size{W: px(40), H: px(40), WSet: true, HSet: true}})
	if res.Format != "gif" {
		t.Fatalf("format %s", res.Format)
	}
	check(res, 40, 30, false)
	check(do(t, e, in, cdnurl.Resize{Size: size(60, 30)}, cdnurl.Mirror{}), 60, 30, true)
	check(do(t, e, in, cdnurl.Crop{Size: &cdnurl.Size{W: px(60), H: px(60), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(20)}}, cdnurl.Rotate{Degrees: 180}, cdnurl.Flip{}), 60, 60, true)

	// Animated WebP when the client takes it.
	res, err := e.Do(context.Background(), "u", in, []cdnurl.Op{cdnurl.Format{Format: "auto"}, cdnurl.Preview{}}, "image/webp", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, w, h, pages, err := decodeRGBA(res.Body); err != nil || res.Format != "webp" || pages != 3 || w != 80 || h != 60 {
		t.Errorf("webp: %s %dx%d, %d pages, %v", res.Format, w, h, pages, err)
	}
	// A still format takes the first frame.
	res = do(t, e, in, cdnurl.Format{Format: "png"})
	if got := decode(t, res); got.Bounds().Dy() != 60 || got.NRGBAAt(60, 30) != cols[0] {
		t.Errorf("png of an animation: %v %v", got.Bounds(), got.NRGBAAt(60, 30))
	}
	// And the animated WebP as a source keeps its frames too.
	res2 := do(t, e, memSource{res2Body(t, e, in)}, cdnurl.Preview{Size: &cdnurl.Size{W: px(40), H: px(40), WSet: true, HSet: true}})
	if _, w, h, pages, err := decodeRGBA(res2.Body); err != nil || res2.Format != "webp" || pages != 3 || w != 40 || h != 30 {
		t.Errorf("webp source: %s %dx%d, %d pages, %v", res2.Format, w, h, pages, err)
	}
}

func res2Body(t *testing.T, e *Engine, in Source) []byte {
	res := do(t, e, in, cdnurl.Format{Format: "webp"})
	return res.Body
}

func TestCMYKJPEG(t *testing.T) {
	vips, err := exec.LookPath("vips")
	if err != nil {
		t.Skip("vips command not installed")
	}
	e := newEngine(t, Options{})
	// Muted colours, inside what the CMYK profile can print.
	src := mapPixels(pattern(64, 48), func(c color.NRGBA) color.NRGBA {
		m := func(v uint8) uint8 { return uint8(64 + int(v)/2) }
		return color.NRGBA{m(c.R), m(c.G), m(c.B), 255}
	})
	dir := t.TempDir()
	rgb, cmyk := filepath.Join(dir, "rgb.png"), filepath.Join(dir, "cmyk.jpg")
	if err := os.WriteFile(rgb, encodePNG(t, src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(vips, "colourspace", rgb, cmyk+"[Q=98]", "cmyk").CombinedOutput(); err != nil {
		t.Fatalf("vips colourspace: %v %s", err, out)
	}
	b, _ := os.ReadFile(cmyk)
	for _, mode := range []string{"icc", "fast"} {
		res := do(t, e, fileSource{cmyk}, cdnurl.SRGB{Mode: mode})
		if res.Format != "jpeg" {
			t.Fatalf("format %s", res.Format)
		}
		if d := mae(t, decode(t, res), src, false); d > 6 {
			t.Errorf("%s: mean abs error %.2f", mode, d)
		}
	}
	var info struct {
		ColorMode string `json:"color_mode"`
	}
	json.Unmarshal(do(t, e, memSource{b}, cdnurl.JSON{}).Body, &info)
	if info.ColorMode != "CMYK" {
		t.Errorf("color_mode %q", info.ColorMode)
	}
}

func TestSixteenBitPNG(t *testing.T) {
	e := newEngine(t, Options{})
	src := pattern(64, 48)
	deep := image.NewNRGBA64(src.Bounds())
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			c := src.NRGBAAt(x, y)
			deep.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, 0xFFFF})
		}
	}
	b := encodePNG(t, deep)
	if b[24] != 16 {
		t.Fatalf("test PNG has bit depth %d", b[24])
	}
	res := do(t, e, memSource{b}, cdnurl.Grayscale{}, cdnurl.Invert{})
	want := expectColour(src, func(r, g, b float64) (float64, float64, float64) {
		l := 255 - math.Round(luma(r, g, b))
		return l, l, l
	})
	if d := mae(t, decode(t, res), want, false); d > 0.7 {
		t.Errorf("mean abs error %.2f", d)
	}
	if res.Format != "png" {
		t.Errorf("format %s", res.Format)
	}
}

func TestSVG(t *testing.T) {
	e := newEngine(t, Options{})
	svg := []byte(`<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50">
<rect width="50" height="50" fill="#ff0000"/><rect x="50" width="50" height="50" fill="#0000ff"/></svg>`)
	res := do(t, e, memSource{svg}, cdnurl.Rasterize{}, cdnurl.Resize{Size: size(800, 0)})
	got := decode(t, res)
	if res.Format != "png" || got.Bounds().Size() != image.Pt(800, 400) {
		t.Fatalf("%s %v", res.Format, got.Bounds().Size())
	}
	// Rendered at the target size: the edge between the halves is sharp.
	if c := got.NRGBAAt(398, 200); c != (color.NRGBA{255, 0, 0, 255}) {
		t.Errorf("left of the edge %v", c)
	}
	if c := got.NRGBAAt(401, 200); c != (color.NRGBA{0, 0, 255, 255}) {
		t.Errorf("right of the edge %v", c)
	}
	if got := decode(t, do(t, e, memSource{svg}, cdnurl.Preview{})); got.Bounds().Size() != image.Pt(100, 50) {
		t.Errorf("preview of svg: %v", got.Bounds().Size())
	}

	// An SVG stored next to other files must not draw them in.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret.png"), encodePNG(t, solidImage(10, 10, color.NRGBA{255, 0, 0, 255})), 0o644)
	evil := filepath.Join(dir, "evil.svg")
	os.WriteFile(evil, []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20">
<image href="secret.png" xlink:href="secret.png" width="20" height="20"/></svg>`), 0o644)
	got = decode(t, do(t, e, fileSource{evil}))
	if c := got.NRGBAAt(10, 10); c.A != 0 {
		t.Errorf("the SVG drew a neighbouring file: %v", c)
	}
}

func TestErrors(t *testing.T) {
	e := newEngine(t, Options{})
	in := memSource{encodePNG(t, pattern(32, 32))}
	for _, ops := range [][]cdnurl.Op{
		{cdnurl.ZoomObjects{Zoom: 50}},
		{cdnurl.BlurRegion{Faces: true}},
		{cdnurl.JSON{}, cdnurl.Preview{}},
		{cdnurl.Rotate{Degrees: 45}},
		{cdnurl.Resize{}},
	} {
		if _, err := e.Do(context.Background(), "u", in, ops, "", nil); !isOpError(err) {
			t.Errorf("%v: %v, want *OpError", opNames(ops), err)
		}
	}
	for _, b := range [][]byte{[]byte("%PDF-1.4 hello"), []byte("just text"), {0xFF, 0xD8, 0xFF, 0, 1, 2}, {}} {
		if _, err := e.Do(context.Background(), "u", memSource{b}, []cdnurl.Op{cdnurl.Preview{}}, "", nil); err != ErrNotImage {
			t.Errorf("%q: %v, want ErrNotImage", b, err)
		}
	}
}

func TestLimits(t *testing.T) {
	in := memSource{encodePNG(t, pattern(96, 64))}
	e := newEngine(t, Options{MaxPixels: 96*64 - 1})
	if _, err := e.Do(context.Background(), "u", in, []cdnurl.Op{cdnurl.Preview{}}, "", nil); err != ErrTooLarge {
		t.Errorf("MaxPixels: %v", err)
	}
	e = newEngine(t, Options{MaxOutputPixels: 10000})
	for _, ops := range [][]cdnurl.Op{
		{cdnurl.Resize{Size: size(200, 0)}},
		{cdnurl.Crop{Size: &cdnurl.Size{W: px(500), H: px(500), WSet: true, HSet: true}}},
		{cdnurl.ScaleCrop{Size: size(100, 101)}},
	} {
		if _, err := e.Do(context.Background(), "u", in, ops, "", nil); err != ErrTooLarge {
			t.Errorf("MaxOutputPixels %v: %v", opNames(ops), err)
		}
	}
	b, _ := threeFrames(t, 20, 20)
	e = newEngine(t, Options{MaxFrames: 2})
	if _, err := e.Do(context.Background(), "u", memSource{b}, []cdnurl.Op{cdnurl.Preview{}}, "", nil); err != ErrTooLarge {
		t.Errorf("MaxFrames: %v", err)
	}
}

// gateSource blocks Open until the gate closes.
type gateSource struct {
	memSource
	gate    chan struct{}
	entered chan struct{}
}

func (s gateSource) Open() (io.ReadCloser, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	<-s.gate
	return s.memSource.Open()
}

func TestQueue(t *testing.T) {
	e := newEngine(t, Options{Workers: 1, QueueSize: 1})
	gate := make(chan struct{})
	src := gateSource{memSource{encodePNG(t, pattern(32, 32))}, gate, make(chan struct{}, 2)}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = e.Do(context.Background(), "u", src, []cdnurl.Op{cdnurl.Preview{}}, "", nil)
		}(i)
		if i == 0 {
			<-src.entered // the first holds the only worker
		}
	}
	for e.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := e.Do(context.Background(), "u", src, []cdnurl.Op{cdnurl.Preview{}}, "", nil); err != ErrBusy {
		t.Errorf("third transform: %v, want ErrBusy", err)
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transform %d: %v", i, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	// Stuck in Go (the source): Do returns at the deadline, the worker
	// finishes when the source does.
	e := newEngine(t, Options{Workers: 1, Timeout: 50 * time.Millisecond})
	gate := make(chan struct{})
	src := gateSource{memSource{encodePNG(t, pattern(32, 32))}, gate, nil}
	start := time.Now()
	if _, err := e.Do(context.Background(), "u", src, []cdnurl.Op{cdnurl.Preview{}}, "", nil); err != ErrTimeout {
		t.Errorf("got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v", d)
	}
	close(gate)
	e.Wait()

	// Stuck in libvips: the computation is killed, so the worker comes
	// back long before the blur would have finished.
	big := memSource{encodeJPEG(t, noisy(2000, 2000, 3), 90)}
	heavy := []cdnurl.Op{cdnurl.Blur{Strength: 32}, cdnurl.Sharp{Strength: 20}, cdnurl.Blur{Strength: 30}}
	slow := newEngine(t, Options{Workers: 1})
	start = time.Now()
	do(t, slow, big, heavy...)
	full := time.Since(start)

	e = newEngine(t, Options{Workers: 1, Timeout: 30 * time.Millisecond})
	start = time.Now()
	if _, err := e.Do(context.Background(), "u", big, heavy, "", nil); err != ErrTimeout {
		t.Errorf("got %v, want ErrTimeout", err)
	}
	e.Wait()
	if d := time.Since(start); d > full/2 {
		t.Errorf("killed transform took %v, the whole one %v", d, full)
	} else {
		t.Logf("killed transform done after %v (whole: %v)", d, full)
	}
	// The engine still works.
	do(t, e, memSource{encodePNG(t, pattern(32, 32))}, cdnurl.Preview{})

	// The caller's own context ends the same way but reports itself.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	e = newEngine(t, Options{Workers: 1})
	if _, err := e.Do(ctx, "u", big, heavy, "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	e.Wait()
}

// exifJPEG inserts an EXIF block with orientation, camera make, the
// original date and a GPS position.
func exifJPEG(jpg []byte, orientation int, make, date string, lat, lon float64) []byte {
	type entry struct {
		tag, typ uint16
		count    uint32
		data     []byte
	}
	le := binary.LittleEndian
	short := func(v uint16) []byte { return le.AppendUint16(nil, v) }
	long := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	rationals := func(deg float64) []byte {
		d := math.Floor(deg)
		m := math.Floor((deg - d) * 60)
		s := ((deg-d)*60 - m) * 60
		var b []byte
		for _, v := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(math.Round(s * 1000)), 1000}} {
			b = le.AppendUint32(b, v[0])
			b = le.AppendUint32(b, v[1])
		}
		return b
	}
	ref := func(pos, neg string, v float64) string {
		if v < 0 {
			return neg
		}
		return pos
	}
	ifd0 := []entry{
		{0x010F, 2, uint32(len(make) + 1), ascii(make)},
		{0x0112, 3, 1, short(uint16(orientation))},
		{0x8769, 4, 1, nil}, // Exif IFD
		{0x8825, 4, 1, nil}, // GPS IFD
	}
	exif := []entry{{0x9003, 2, uint32(len(date) + 1), ascii(date)}}
	gps := []entry{
		{1, 2, 2, ascii(ref("N", "S", lat))},
		{2, 5, 3, rationals(math.Abs(lat))},
		{3, 2, 2, ascii(ref("E", "W", lon))},
		{4, 5, 3, rationals(math.Abs(lon))},
	}
	size := func(es []entry) int {
		n := 2 + 12*len(es) + 4
		for _, e := range es {
			if len(e.data) > 4 {
				n += len(e.data)
			}
		}
		return n
	}
	off0 := 8
	offExif := off0 + size(ifd0)
	offGPS := offExif + size(exif)
	ifd0[2].data, ifd0[3].data = long(uint32(offExif)), long(uint32(offGPS))
	var tiff []byte
	tiff = append(tiff, "II*\x00"...)
	tiff = le.AppendUint32(tiff, uint32(off0))
	write := func(es []entry, at int) {
		tiff = le.AppendUint16(tiff, uint16(len(es)))
		data := at + 2 + 12*len(es) + 4
		var extra []byte
		for _, e := range es {
			tiff = le.AppendUint16(tiff, e.tag)
			tiff = le.AppendUint16(tiff, e.typ)
			tiff = le.AppendUint32(tiff, e.count)
			if len(e.data) <= 4 {
				v := append(append([]byte{}, e.data...), make4(4-len(e.data))...)
				tiff = append(tiff, v...)
			} else {
				tiff = le.AppendUint32(tiff, uint32(data+len(extra)))
				extra = append(extra, e.data...)
			}
		}
		tiff = le.AppendUint32(tiff, 0)
		tiff = append(tiff, extra...)
	}
	write(ifd0, off0)
	write(exif, offExif)
	write(gps, offGPS)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(jpg[2:])
	return out.Bytes()
}

func make4(n int) []byte { return make([]byte, n) }

func TestJSON(t *testing.T) {
	e := newEngine(t, Options{})
	up := pattern(64, 48)
	jpg := exifJPEG(encodeJPEG(t, stored(up, 6), 95), 6, "Satchel Cam", "2020:06:07 10:38:16", 55.75, -37.6)
	res := do(t, e, memSource{jpg}, cdnurl.JSON{})
	if res.ContentType != "application/json" || res.Format != "json" {
		t.Fatalf("%s %s", res.ContentType, res.Format)
	}
	var raw map[string]any
	if err := json.Unmarshal(res.Body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "width", "height", "format", "color_mode", "orientation", "dpi", "geo_location", "datetime_original", "sequence", "hash", "blurhash"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %s", k, res.Body)
		}
	}
	var info infoJSON
	json.Unmarshal(res.Body, &info)
	if info.ID != "c0ffee00-0000-4000-8000-000000000000" || info.Width != 48 || info.Height != 64 || info.Format != "JPEG" ||
		info.ColorMode != "RGB" || info.Orientation == nil || *info.Orientation != 6 || info.Sequence ||
		info.DatetimeOriginal == nil || *info.DatetimeOriginal != "2020-06-07T10:38:16" || info.Blurhash != nil || len(info.Hash) != 16 {
		t.Errorf("json: %s", res.Body)
	}
	if g := info.GeoLocation; g == nil || math.Abs(g.Latitude-55.75) > 1e-4 || math.Abs(g.Longitude+37.6) > 1e-4 {
		t.Errorf("geo_location: %+v", g)
	}
	// After operations: the size of the result.
	json.Unmarshal(do(t, e, memSource{jpg}, cdnurl.Preview{Size: &cdnurl.Size{W: px(24), WSet: true}}, cdnurl.JSON{}).Body, &info)
	if info.Width != 24 || info.Height != 18 { // 24 wide, upright
		t.Errorf("json after preview: %dx%d", info.Width, info.Height)
	}

	// The hash is perceptual: the same picture at another size and
	// quality is close, a different picture is far.
	hash := func(img image.Image, q int) uint64 {
		var info infoJSON
		json.Unmarshal(do(t, e, memSource{encodeJPEG(t, img, q)}, cdnurl.JSON{}).Body, &info)
		h, err := strconv.ParseUint(info.Hash, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a, b, c := hash(noisy(400, 300, 1), 95), hash(boxResize(noisy(400, 300, 1), 200, 150), 60), hash(transform(noisy(400, 300, 1), 400, 300, func(x, y int) (int, int) { return 399 - x, y }), 95)
	if d := bits.OnesCount64(a ^ b); d > 6 {
		t.Errorf("same picture: hashes %016x %016x differ in %d bits", a, b, d)
	}
	if d := bits.OnesCount64(a ^ c); d < 16 {
		t.Errorf("mirrored picture: hashes %016x %016x differ in only %d bits", a, c, d)
	}

	// Animated GIF: sequence, palette mode.
	gb, _ := threeFrames(t, 20, 20)
	json.Unmarshal(do(t, e, memSource{gb}, cdnurl.JSON{}).Body, &info)
	if !info.Sequence || info.Format != "GIF" || info.ColorMode != "P" || info.Orientation != nil {
		t.Errorf("gif json: %+v", info)
	}
}

func TestMainColors(t *testing.T) {
	e := newEngine(t, Options{})
	img := image.NewNRGBA(image.Rect(0, 0, 120, 60))
	for y := 0; y < 60; y++ {
		for x := 0; x < 120; x++ {
			c := color.NRGBA{220, 30, 40, 255}
			if x >= 80 {
				c = color.NRGBA{20, 60, 200, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	res := do(t, e, memSource{encodePNG(t, img)}, cdnurl.Preview{}, cdnurl.MainColors{N: 2})
	var got struct {
		MainColors [][3]int `json:"main_colors"`
	}
	if err := json.Unmarshal(res.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := [][3]int{{220, 30, 40}, {20, 60, 200}}
	if len(got.MainColors) != 2 {
		t.Fatalf("main colors %s", res.Body)
	}
	for i := range want {
		for c := 0; c < 3; c++ {
			if math.Abs(float64(got.MainColors[i][c]-want[i][c])) > 3 {
				t.Errorf("main colors %v, want %v", got.MainColors, want)
			}
		}
	}
	res = do(t, e, memSource{encodePNG(t, noisy(100, 100, 5))}, cdnurl.MainColors{})
	json.Unmarshal(res.Body, &got)
	if len(got.MainColors) != 4 {
		t.Errorf("default count: %s", res.Body)
	}
}

func TestStripMeta(t *testing.T) {
	e := newEngine(t, Options{})
	jpg := exifJPEG(encodeJPEG(t, pattern(64, 48), 95), 1, "Satchel Cam", "2020:06:07 10:38:16", 55.75, 37.6)
	meta := func(mode string) (exif, gps, make bool) {
		ops := []cdnurl.Op{cdnurl.Preview{}}
		if mode != "" {
			ops = append(ops, cdnurl.StripMeta{Mode: mode})
		}
		res := do(t, e, memSource{jpg}, ops...)
		var info infoJSON
		json.Unmarshal(do(t, e, memSource{res.Body}, cdnurl.JSON{}).Body, &info)
		return bytes.Contains(res.Body, []byte("Exif\x00\x00")), info.GeoLocation != nil, bytes.Contains(res.Body, []byte("Satchel Cam"))
	}
	if exif, _, _ := meta(""); exif {
		t.Error("default strips all metadata")
	}
	if exif, gps, mk := meta("none"); !exif || !gps || !mk {
		t.Errorf("none: exif %v gps %v make %v", exif, gps, mk)
	}
	if _, gps, mk := meta("sensitive"); gps || mk {
		t.Errorf("sensitive: gps %v make %v", gps, mk)
	}

	// Kept metadata must not make viewers turn the upright result again.
	up := pattern(64, 48)
	turned := exifJPEG(encodeJPEG(t, stored(up, 6), 95), 6, "Satchel Cam", "2020:06:07 10:38:16", 1, 1)
	res := do(t, e, memSource{turned}, cdnurl.StripMeta{Mode: "none"})
	var info infoJSON
	json.Unmarshal(do(t, e, memSource{res.Body}, cdnurl.JSON{}).Body, &info)
	if info.Orientation != nil && *info.Orientation != 1 {
		t.Errorf("orientation %d kept on an autorotated result", *info.Orientation)
	}
	if d := mae(t, decode(t, do(t, e, memSource{res.Body})), up, false); d > 6 { // two JPEG generations
		t.Errorf("re-read result: mean abs error %.2f", d)
	}
}

func TestSources(t *testing.T) {
	e := newEngine(t, Options{})
	b := encodeJPEG(t, pattern(300, 200), 90)
	a := do(t, e, memSource{b}, cdnurl.Preview{Size: &cdnurl.Size{W: px(100), WSet: true}})
	f := do(t, e, toFile(t, b, "x.jpg"), cdnurl.Preview{Size: &cdnurl.Size{W: px(100), WSet: true}})
	if !bytes.Equal(a.Body, f.Body) {
		t.Error("file and memory sources differ")
	}
	// Unknown size.
	u := do(t, e, sizelessSource{memSource{b}}, cdnurl.Preview{Size: &cdnurl.Size{W: px(100), WSet: true}})
	if !bytes.Equal(a.Body, u.Body) {
		t.Error("sizeless source differs")
	}
}

type sizelessSource struct{ memSource }

func (sizelessSource) Size() int64 { return 0 }

// TestShrinkOnLoad checks that the JPEG decoder does the bulk of a big
// downscale and that the result still matches an independent resize.
func TestShrinkOnLoad(t *testing.T) {
	e := newEngine(t, Options{})
	src := pattern(800, 600)
	in := memSource{encodeJPEG(t, src, 95)}
	for _, c := range []struct {
		ops  []cdnurl.Op
		w, h int
	}{
		{[]cdnurl.Op{cdnurl.Resize{Size: size(100, 75)}}, 100, 75},
		{[]cdnurl.Op{cdnurl.Preview{Size: &cdnurl.Size{W: px(90), H: px(90), WSet: true, HSet: true}}}, 90, 68},
		{[]cdnurl.Op{cdnurl.ScaleCrop{Size: size(50, 50)}}, 50, 50},
		{[]cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: px(400), H: px(300), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(400), Y: px(300)}}, cdnurl.Resize{Size: size(50, 0)}}, 50, 38},
	} {
		got := decode(t, do(t, e, in, c.ops...))
		if got.Bounds().Size() != image.Pt(c.w, c.h) {
			t.Fatalf("%v: %v", opNames(c.ops), got.Bounds().Size())
		}
		var want *image.NRGBA
		switch c.ops[0].(type) {
		case cdnurl.ScaleCrop:
			want = sub(boxResize(src, 67, 50), 9, 0, 50, 50, color.NRGBA{}) // (67-50)/2 rounds to 9
		case cdnurl.Crop:
			want = boxResize(sub(src, 400, 300, 400, 300, color.NRGBA{}), 50, 38)
		default:
			want = boxResize(src, c.w, c.h)
		}
		if d := mae(t, got, want, false); d > 5 {
			t.Errorf("%v: mean abs error %.2f", opNames(c.ops), d)
		}
	}
}

func TestNoLeaks(t *testing.T) {
	e := newEngine(t, Options{})
	jpg := memSource{withOrientation(encodeJPEG(t, pattern(200, 150), 90), 6)}
	png := memSource{encodePNG(t, pattern(120, 80))}
	gb, _ := threeFrames(t, 40, 30)
	ovs := mapOverlays(map[string][]byte{"o": png.b})
	battery := func() {
		for _, c := range []struct {
			src Source
			ops []cdnurl.Op
		}{
			{jpg, []cdnurl.Op{cdnurl.Resize{Size: size(50, 0)}, cdnurl.Enhance{Strength: 50}, cdnurl.Adjust{Op: "vibrance", Value: 30}}},
			{png, []cdnurl.Op{cdnurl.ScaleCrop{Size: size(40, 40), Type: "smart"}, cdnurl.BorderRadius{Radii: []cdnurl.Length{px(8)}}, cdnurl.Format{Format: "webp"}}},
			{png, []cdnurl.Op{cdnurl.Overlay{UUID: "o", Size: &cdnurl.Size{W: pct(30), H: pct(30), WSet: true, HSet: true}}, cdnurl.Overlay{UUID: "self", Size: &cdnurl.Size{W: pct(30), WSet: true}}, cdnurl.Text{Size: size(100, 40), Text: "hi"}, cdnurl.Rect{Color: cdnurl.Color{R: 1, A: 100}, Size: size(10, 10)}}},
			{png, []cdnurl.Op{cdnurl.Blur{Strength: 50}, cdnurl.BlurRegion{Size: size(20, 20)}, cdnurl.Sharp{Strength: 5}, cdnurl.Format{Format: "avif"}}},
			{memSource{gb}, []cdnurl.Op{cdnurl.Preview{Size: &cdnurl.Size{W: px(20), WSet: true}}, cdnurl.Rotate{Degrees: 90}}},
			{jpg, []cdnurl.Op{cdnurl.MainColors{N: 3}}},
			{jpg, []cdnurl.Op{cdnurl.JSON{}}},
			{png, []cdnurl.Op{cdnurl.Filter{Filter: "x"}}},             // refused early
			{png, []cdnurl.Op{cdnurl.Overlay{UUID: "missing"}}},        // fails midway
			{memSource{[]byte("nope")}, []cdnurl.Op{cdnurl.Preview{}}}, // not an image
		} {
			e.Do(context.Background(), "u", c.src, c.ops, "image/avif", ovs)
		}
		e.Wait()
	}
	battery() // libvips makes some process-wide objects on first use
	before := liveObjects()
	// The count sees images that are alive.
	tk := newTask(e, "", png, nil, "", nil)
	if err := tk.open(); err != nil {
		t.Fatal(err)
	}
	im, err := tk.load(loadOpts())
	if err != nil {
		t.Fatal(err)
	}
	if n := liveObjects(); n <= before {
		t.Errorf("an open image is not counted: %d objects", n)
	}
	unref(im)
	tk.close()
	for i := 0; i < 3; i++ {
		battery()
	}
	if after := liveObjects(); after != before {
		t.Errorf("live libvips objects: %d before, %d after", before, after)
	} else {
		t.Logf("live libvips objects: %d before and after, tracked memory %d bytes", before, trackedMem())
	}
	if m := trackedMem(); m > 1<<20 {
		t.Errorf("libvips still tracks %d bytes", m)
	}
}

func TestICC(t *testing.T) {
	vips, err := exec.LookPath("vips")
	if err != nil {
		t.Skip("vips command not installed")
	}
	e := newEngine(t, Options{})
	src := pattern(64, 48)
	dir := t.TempDir()
	rgb := filepath.Join(dir, "rgb.png")
	os.WriteFile(rgb, encodePNG(t, src), 0o644)
	made := map[string][]byte{}
	for _, p := range []string{"p3", "srgb"} {
		out := filepath.Join(dir, p+".jpg")
		if b, err := exec.Command(vips, "icc_transform", rgb, out+"[Q=98]", p).CombinedOutput(); err != nil {
			t.Fatalf("vips icc_transform %s: %v %s", p, err, b)
		}
		made[p], _ = os.ReadFile(out)
	}
	profile := func(b []byte) []byte {
		tk := newTask(e, "", memSource{b}, nil, "", nil)
		defer tk.close()
		if err := tk.open(); err != nil {
			t.Fatal(err)
		}
		im, err := tk.load(loadOpts())
		if err != nil {
			t.Fatal(err)
		}
		defer unref(im)
		return getBlob(im, "icc-profile-data")
	}
	if p := profile(made["srgb"]); len(p) == 0 || !isSRGBProfile(p) {
		t.Errorf("sRGB profile (%d bytes) not recognised", len(p))
	}
	if p := profile(made["p3"]); len(p) == 0 || isSRGBProfile(p) {
		t.Errorf("P3 profile (%d bytes) taken for sRGB", len(p))
	}
	// Display P3 pixels come back to the sRGB picture through the
	// profile; srgb/fast ignores it and shows the raw P3 values.
	icc := decode(t, do(t, e, memSource{made["p3"]}))
	fast := decode(t, do(t, e, memSource{made["p3"]}, cdnurl.SRGB{Mode: "fast"}))
	if d := mae(t, icc, src, false); d > 3 {
		t.Errorf("icc: mean abs error %.2f", d)
	}
	if d := mae(t, fast, src, false); d < 3 {
		t.Errorf("fast: mean abs error only %.2f, profile applied?", d)
	}
	// keep_profile keeps the pixels and the profile in the output.
	kept := do(t, e, memSource{made["p3"]}, cdnurl.SRGB{Mode: "keep_profile"})
	if p := profile(kept.Body); len(p) == 0 || isSRGBProfile(p) {
		t.Errorf("keep_profile: output profile of %d bytes", len(p))
	}
	if d := mae(t, decode(t, kept), fast, false); d > 1 {
		t.Errorf("keep_profile changed the pixels by %.2f", d)
	}
	// An sRGB-tagged source is left alone (and still right).
	if d := mae(t, decode(t, do(t, e, memSource{made["srgb"]})), src, false); d > 3 {
		t.Errorf("srgb source: mean abs error %.2f", d)
	}
}

// TestRunExpensive: outside work takes the expensive places (a second
// waits in the queue or is refused with ErrBusy), a cheap transform still
// runs on the cheap worker meanwhile, and work past the timeout gets its
// context ended and ErrTimeout.
func TestRunExpensive(t *testing.T) {
	e := newEngine(t, Options{Workers: 2, CheapWorkers: 1, ExpensiveWorkers: 1, QueueSize: -1})
	held, gate := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := e.RunExpensive(context.Background(), func(context.Context) error {
			close(held)
			<-gate
			return nil
		})
		done <- err
	}()
	<-held
	if _, err := e.RunExpensive(context.Background(), func(context.Context) error { return nil }); err != ErrBusy {
		t.Errorf("second expensive run: %v, want ErrBusy", err)
	}
	do(t, e, memSource{encodePNG(t, pattern(32, 32))}, cdnurl.Preview{})
	close(gate)
	if err := <-done; err != nil {
		t.Errorf("first run: %v", err)
	}

	e = newEngine(t, Options{Timeout: 20 * time.Millisecond})
	began, err := e.RunExpensive(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if err != ErrTimeout || began.IsZero() {
		t.Errorf("run past the timeout: %v (began %v), want ErrTimeout", err, began)
	}
	want := errors.New("bad input")
	if _, err := e.RunExpensive(context.Background(), func(context.Context) error { return want }); err != want {
		t.Errorf("failed run: %v", err)
	}
}
