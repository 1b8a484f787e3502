package imaging

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// sub copies a rectangle of src (which may reach outside: fill there).
func sub(src *image.NRGBA, x0, y0, w, h int, fill color.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := image.Pt(x0+x, y0+y)
			if p.In(src.Bounds()) {
				out.SetNRGBA(x, y, src.NRGBAAt(p.X, p.Y))
			} else {
				out.SetNRGBA(x, y, fill)
			}
		}
	}
	return out
}

func TestGeometry(t *testing.T) {
	e := newEngine(t, Options{})
	const W, H = 96, 64
	src := pattern(W, H)
	in := memSource{encodePNG(t, src)}
	white := color.NRGBA{255, 255, 255, 255}
	red := color.NRGBA{255, 0, 0, 255}
	center := &cdnurl.Position{Align: cdnurl.AlignCenter}

	cases := []struct {
		name string
		ops  []cdnurl.Op
		want *image.NRGBA
		tol  float64
	}{
		{"flip", []cdnurl.Op{cdnurl.Flip{}}, transform(src, W, H, func(x, y int) (int, int) { return x, H - 1 - y }), 0},
		{"mirror", []cdnurl.Op{cdnurl.Mirror{}}, transform(src, W, H, func(x, y int) (int, int) { return W - 1 - x, y }), 0},
		{"rotate90", []cdnurl.Op{cdnurl.Rotate{Degrees: 90}}, transform(src, H, W, func(x, y int) (int, int) { return W - 1 - y, x }), 0},
		{"rotate180", []cdnurl.Op{cdnurl.Rotate{Degrees: 180}}, transform(src, W, H, func(x, y int) (int, int) { return W - 1 - x, H - 1 - y }), 0},
		{"rotate270", []cdnurl.Op{cdnurl.Rotate{Degrees: 270}}, transform(src, H, W, func(x, y int) (int, int) { return y, H - 1 - x }), 0},
		{"crop px offset", []cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: px(40), H: px(30), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(10), Y: px(5)}}}, sub(src, 10, 5, 40, 30, white), 0},
		{"crop default origin", []cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: px(40), H: px(30), WSet: true, HSet: true}}}, sub(src, 0, 0, 40, 30, white), 0},
		{"crop percent centre", []cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: pct(50), H: pct(50), WSet: true, HSet: true}, Position: center}}, sub(src, 24, 16, 48, 32, white), 0},
		{"crop percent offsets", []cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: px(40), H: px(30), WSet: true, HSet: true}, Position: &cdnurl.Position{X: pct(100), Y: pct(0)}}}, sub(src, 56, 0, 40, 30, white), 0},
		{"crop ratio", []cdnurl.Op{cdnurl.Crop{Ratio: &cdnurl.Ratio{A: 1, B: 1}}}, sub(src, 16, 0, 64, 64, white), 0},
		{"crop bottom", []cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: px(96), H: px(20), WSet: true, HSet: true}, Position: &cdnurl.Position{Align: cdnurl.AlignBottom}}}, sub(src, 0, 44, 96, 20, white), 0},
		{"crop past the edge moves inside", []cdnurl.Op{cdnurl.SetFill{Color: cdnurl.Color{R: 255, A: 255}}, cdnurl.Crop{Size: &cdnurl.Size{W: px(60), H: px(40), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(60), Y: px(40)}}}, sub(src, 36, 24, 60, 40, red), 0},
		{"crop negative offset moves inside", []cdnurl.Op{cdnurl.Crop{Size: &cdnurl.Size{W: px(50), H: px(30), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(-10), Y: px(-5)}}}, sub(src, 0, 0, 50, 30, white), 0},
		{"crop larger than the image fills", []cdnurl.Op{cdnurl.SetFill{Color: cdnurl.Color{R: 255, A: 255}}, cdnurl.Crop{Size: &cdnurl.Size{W: px(120), H: px(40), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(-10), Y: px(500)}}}, sub(src, -10, 24, 120, 40, red), 0},
		{"resize", []cdnurl.Op{cdnurl.Resize{Size: size(48, 32)}}, boxResize(src, 48, 32), 4},
		{"resize width only", []cdnurl.Op{cdnurl.Resize{Size: size(48, 0)}}, boxResize(src, 48, 32), 4},
		{"resize height only", []cdnurl.Op{cdnurl.Resize{Size: size(0, 16)}}, boxResize(src, 24, 16), 5},
		{"resize distort", []cdnurl.Op{cdnurl.Resize{Size: size(40, 40)}}, boxResize(src, 40, 40), 4},
		{"resize percent", []cdnurl.Op{cdnurl.Resize{Size: cdnurl.Size{W: pct(50), WSet: true}}}, boxResize(src, 48, 32), 4},
		{"preview", []cdnurl.Op{cdnurl.Preview{Size: &cdnurl.Size{W: px(48), H: px(48), WSet: true, HSet: true}}}, boxResize(src, 48, 32), 4},
		{"preview default keeps size", []cdnurl.Op{cdnurl.Preview{}}, src, 0},
		{"preview never upscales", []cdnurl.Op{cdnurl.Preview{Size: &cdnurl.Size{W: px(500), H: px(500), WSet: true, HSet: true}}}, src, 0},
		{"stretch off", []cdnurl.Op{cdnurl.Stretch{Mode: "off"}, cdnurl.Resize{Size: size(200, 0)}}, src, 0},
		{"stretch fill", []cdnurl.Op{cdnurl.Stretch{Mode: "fill"}, cdnurl.Resize{Size: size(120, 80)}}, sub(src, -12, -8, 120, 80, white), 0},
		{"scale_crop centre", []cdnurl.Op{cdnurl.ScaleCrop{Size: size(40, 40)}}, sub(boxResize(src, 60, 40), 10, 0, 40, 40, white), 4},
		{"scale_crop left", []cdnurl.Op{cdnurl.ScaleCrop{Size: size(40, 40), Position: &cdnurl.Position{Align: cdnurl.AlignLeft}}}, sub(boxResize(src, 60, 40), 0, 0, 40, 40, white), 4},
		{"scale_crop percent", []cdnurl.Op{cdnurl.ScaleCrop{Size: size(40, 40), Position: &cdnurl.Position{X: pct(100), Y: pct(50)}}}, sub(boxResize(src, 60, 40), 20, 0, 40, 40, white), 4},
		{"scale_crop stretch off", []cdnurl.Op{cdnurl.Stretch{Mode: "off"}, cdnurl.ScaleCrop{Size: size(80, 80)}}, sub(src, 8, 0, 80, 64, white), 0},
		{"scale_crop stretch fill", []cdnurl.Op{cdnurl.Stretch{Mode: "fill"}, cdnurl.ScaleCrop{Size: size(80, 80)}}, sub(sub(src, 8, 0, 80, 64, white), 0, -8, 80, 80, white), 0},
		{"crop after resize", []cdnurl.Op{cdnurl.Resize{Size: size(48, 32)}, cdnurl.Crop{Size: &cdnurl.Size{W: px(24), H: px(16), WSet: true, HSet: true}, Position: &cdnurl.Position{X: px(24), Y: px(16)}}}, sub(boxResize(src, 48, 32), 24, 16, 24, 16, white), 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := do(t, e, in, c.ops...)
			if res.Format != "png" || res.ContentType != "image/png" {
				t.Fatalf("format %s %s", res.Format, res.ContentType)
			}
			got := decode(t, res)
			if got.Bounds().Size() != c.want.Bounds().Size() || res.Width != got.Bounds().Dx() || res.Height != got.Bounds().Dy() {
				t.Fatalf("size %v (result says %dx%d), want %v", got.Bounds().Size(), res.Width, res.Height, c.want.Bounds().Size())
			}
			if d := mae(t, got, c.want, false); d > c.tol+0.01 {
				t.Errorf("mean abs error %.2f > %.2f", d, c.tol)
			}
		})
	}
}

func TestSmartCrops(t *testing.T) {
	e := newEngine(t, Options{})
	in := memSource{encodeJPEG(t, pattern(300, 200), 90)}
	for _, ops := range [][]cdnurl.Op{
		{cdnurl.ScaleCrop{Size: size(100, 100), Type: "smart"}},
		{cdnurl.ScaleCrop{Size: size(100, 100), Type: "smart_faces_objects"}},
		{cdnurl.SmartResize{Size: size(100, 100)}},
		{cdnurl.Crop{Object: "face", Ratio: &cdnurl.Ratio{A: 1, B: 1}}},
		{cdnurl.Crop{Object: "image", Size: &cdnurl.Size{W: pct(50), H: pct(50), WSet: true, HSet: true}}},
	} {
		res := do(t, e, in, ops...)
		want := image.Pt(100, 100)
		if o, ok := ops[0].(cdnurl.Crop); ok {
			want = image.Pt(200, 200)
			if o.Size != nil {
				want = image.Pt(150, 100)
			}
		}
		if got := decode(t, res).Bounds().Size(); got != want || res.Format != "jpeg" {
			t.Errorf("%v: %v %s, want %v jpeg", opNames(ops), got, res.Format, want)
		}
	}
}

// expectColour applies fn to the RGB of every pixel.
func expectColour(src *image.NRGBA, fn func(r, g, b float64) (float64, float64, float64)) *image.NRGBA {
	return mapPixels(src, func(c color.NRGBA) color.NRGBA {
		r, g, b := fn(float64(c.R), float64(c.G), float64(c.B))
		return color.NRGBA{clamp8(r), clamp8(g), clamp8(b), c.A}
	})
}

func each(fn func(v float64) float64) func(r, g, b float64) (float64, float64, float64) {
	return func(r, g, b float64) (float64, float64, float64) { return fn(r), fn(g), fn(b) }
}

func luma(r, g, b float64) float64 { return 0.299*r + 0.587*g + 0.114*b }

func TestColour(t *testing.T) {
	e := newEngine(t, Options{})
	src := pattern(64, 48)
	in := memSource{encodePNG(t, src)}
	sat := func(k float64) func(r, g, b float64) (float64, float64, float64) {
		return func(r, g, b float64) (float64, float64, float64) {
			l := luma(r, g, b)
			return l + (r-l)*k, l + (g-l)*k, l + (b-l)*k
		}
	}
	cases := []struct {
		name string
		op   cdnurl.Op
		fn   func(r, g, b float64) (float64, float64, float64)
	}{
		{"brightness", cdnurl.Adjust{Op: "brightness", Value: 20}, each(func(v float64) float64 { return v + 51 })},
		{"brightness down", cdnurl.Adjust{Op: "brightness", Value: -50}, each(func(v float64) float64 { return v - 127.5 })},
		{"exposure", cdnurl.Adjust{Op: "exposure", Value: 50}, each(func(v float64) float64 { return v * math.Sqrt2 })},
		{"gamma", cdnurl.Adjust{Op: "gamma", Value: 150}, each(func(v float64) float64 { return 255 * math.Pow(v/255, 100.0/150) })},
		{"contrast", cdnurl.Adjust{Op: "contrast", Value: 50}, each(func(v float64) float64 { return (v-127.5)*1.5 + 127.5 })},
		{"saturation up", cdnurl.Adjust{Op: "saturation", Value: 60}, sat(1.6)},
		{"saturation down", cdnurl.Adjust{Op: "saturation", Value: -100}, sat(0)},
		{"grayscale", cdnurl.Grayscale{}, sat(0)},
		{"invert", cdnurl.Invert{}, each(func(v float64) float64 { return 255 - v })},
		{"warmth", cdnurl.Adjust{Op: "warmth", Value: 40}, func(r, g, b float64) (float64, float64, float64) { return r * 1.1, g, b * 0.9 }},
		{"vibrance", cdnurl.Adjust{Op: "vibrance", Value: 50}, func(r, g, b float64) (float64, float64, float64) {
			mx, mn := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
			s := (mx - mn) / (mx + 1e-6)
			return sat(1+0.5*(1-s))(r, g, b)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decode(t, do(t, e, in, c.op))
			if d := mae(t, got, expectColour(src, c.fn), false); d > 0.6 {
				t.Errorf("mean abs error %.2f", d)
			}
		})
	}
}

func TestEnhance(t *testing.T) {
	e := newEngine(t, Options{})
	// A dull picture: values squeezed into 80..170.
	src := mapPixels(pattern(64, 48), func(c color.NRGBA) color.NRGBA {
		f := func(v uint8) uint8 { return uint8(80 + int(v)*90/255) }
		return color.NRGBA{f(c.R), f(c.G), f(c.B), 255}
	})
	// Expected: the 1st..99th luma percentile range stretched to 0..255.
	var hist [256]int
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			c := src.NRGBAAt(x, y)
			hist[clamp8(luma(float64(c.R), float64(c.G), float64(c.B)))]++
		}
	}
	lo, hi, acc := -1, 0, 0
	for v, n := range hist {
		acc += n
		if lo < 0 && float64(acc) > 0.01*64*48 {
			lo = v
		}
		if float64(acc) >= 0.99*64*48 {
			hi = v
			break
		}
	}
	want := expectColour(src, each(func(v float64) float64 { return (v - float64(lo)) * 255 / float64(hi-lo) }))
	got := decode(t, do(t, e, memSource{encodePNG(t, src)}, cdnurl.Enhance{Strength: 100}))
	if d := mae(t, got, want, false); d > 0.6 {
		t.Errorf("enhance: mean abs error %.2f", d)
	}
}

// gaussBlur is a plain separable Gaussian with clamped edges.
func gaussBlur(src *image.NRGBA, sigma float64) *image.NRGBA {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := -r; i <= r; i++ {
		k[i+r] = math.Exp(-float64(i*i) / (2 * sigma * sigma))
		sum += k[i+r]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	pass := func(in *image.NRGBA, dx, dy int) *image.NRGBA {
		out := image.NewNRGBA(in.Bounds())
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s [3]float64
				for i := -r; i <= r; i++ {
					xx := min(max(x+i*dx, 0), w-1)
					yy := min(max(y+i*dy, 0), h-1)
					c := in.NRGBAAt(xx, yy)
					s[0] += k[i+r] * float64(c.R)
					s[1] += k[i+r] * float64(c.G)
					s[2] += k[i+r] * float64(c.B)
				}
				out.SetNRGBA(x, y, color.NRGBA{clamp8(s[0]), clamp8(s[1]), clamp8(s[2]), 255})
			}
		}
		return out
	}
	return pass(pass(src, 1, 0), 0, 1)
}

func TestBlurAndSharp(t *testing.T) {
	e := newEngine(t, Options{})
	src := pattern(80, 60)
	in := memSource{encodePNG(t, src)}

	got := decode(t, do(t, e, in, cdnurl.Blur{Strength: 6}))
	if d := mae(t, got, gaussBlur(src, 3), false); d > 1.5 {
		t.Errorf("blur: mean abs error %.2f", d)
	}
	// A wide blur takes the reduced path and still approximates a Gaussian.
	got = decode(t, do(t, e, in, cdnurl.Blur{Strength: 60}))
	if d := mae(t, got, gaussBlur(src, 30), false); d > 4 {
		t.Errorf("wide blur: mean abs error %.2f", d)
	}
	// Half strength mixes half of the blur in.
	half := decode(t, do(t, e, in, cdnurl.Blur{Strength: 6, Amount: 50, HasAmount: true}))
	b := gaussBlur(src, 3)
	want := image.NewNRGBA(src.Bounds())
	for i := range want.Pix {
		want.Pix[i] = uint8((int(src.Pix[i]) + int(b.Pix[i]) + 1) / 2)
	}
	if d := mae(t, half, want, false); d > 1.5 {
		t.Errorf("half blur: mean abs error %.2f", d)
	}
	// Negative amount is an unsharp mask: more contrast at edges.
	if energy(decode(t, do(t, e, in, cdnurl.Blur{Strength: 4, Amount: -100, HasAmount: true}))) <= energy(src) {
		t.Error("unsharp blur did not sharpen")
	}

	prev := energy(src)
	for _, n := range []int{5, 20} {
		got := decode(t, do(t, e, in, cdnurl.Sharp{Strength: n}))
		en := energy(got)
		if en <= prev {
			t.Errorf("sharp %d: edge energy %.0f not above %.0f", n, en, prev)
		}
		if d := mae(t, got, src, false); d > 8 {
			t.Errorf("sharp %d: drifted from the source by %.2f", n, d)
		}
		prev = en
	}
}

// energy is the sum of squared horizontal and vertical differences.
func energy(img *image.NRGBA) float64 {
	var s float64
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	for y := 1; y < h; y++ {
		for x := 1; x < w; x++ {
			c, l, u := img.NRGBAAt(x, y), img.NRGBAAt(x-1, y), img.NRGBAAt(x, y-1)
			for _, d := range []float64{
				float64(c.R) - float64(l.R), float64(c.G) - float64(l.G), float64(c.B) - float64(l.B),
				float64(c.R) - float64(u.R), float64(c.G) - float64(u.G), float64(c.B) - float64(u.B),
			} {
				s += d * d
			}
		}
	}
	return s
}

func TestBlurRegion(t *testing.T) {
	e := newEngine(t, Options{})
	src := pattern(80, 60)
	got := decode(t, do(t, e, memSource{encodePNG(t, src)}, cdnurl.BlurRegion{
		Size: size(40, 30), Position: cdnurl.Position{X: px(20), Y: px(15)}, Strength: 10,
	}))
	inside := image.Rect(20, 15, 60, 45)
	var changed, outside int
	for y := 0; y < 60; y++ {
		for x := 0; x < 80; x++ {
			if got.NRGBAAt(x, y) != src.NRGBAAt(x, y) {
				if image.Pt(x, y).In(inside) {
					changed++
				} else {
					outside++
				}
			}
		}
	}
	if outside != 0 || changed < 200 {
		t.Errorf("blur_region changed %d pixels inside, %d outside", changed, outside)
	}
	want := sub(src, 0, 0, 80, 60, color.NRGBA{})
	b := gaussBlur(sub(src, 20, 15, 40, 30, color.NRGBA{}), 5)
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			want.SetNRGBA(20+x, 15+y, b.NRGBAAt(x, y))
		}
	}
	if d := mae(t, got, want, false); d > 1 {
		t.Errorf("blur_region: mean abs error %.2f", d)
	}
}

func TestOrientations(t *testing.T) {
	e := newEngine(t, Options{})
	up := pattern(64, 48)
	for o := 1; o <= 8; o++ {
		jpg := withOrientation(encodeJPEG(t, stored(up, o), 95), o)
		for _, src := range []Source{memSource{jpg}, toFile(t, jpg, "o.jpg")} {
			res := do(t, e, src, cdnurl.Preview{})
			got := decode(t, res)
			if d := mae(t, got, up, false); d > 3 {
				t.Errorf("orientation %d: mean abs error %.2f", o, d)
			}
			// Shrink-on-load takes the turned size into account.
			res = do(t, e, src, cdnurl.Resize{Size: size(32, 0)})
			if got := decode(t, res); got.Bounds().Size() != image.Pt(32, 24) {
				t.Errorf("orientation %d: resize gave %v", o, got.Bounds().Size())
			} else if d := mae(t, got, boxResize(up, 32, 24), false); d > 5 {
				t.Errorf("orientation %d resized: mean abs error %.2f", o, d)
			}
		}
		// autorotate/no keeps the stored pixels.
		res := do(t, e, memSource{jpg}, cdnurl.Autorotate{On: false}, cdnurl.Preview{})
		if d := mae(t, decode(t, res), stored(up, o), false); d > 3 {
			t.Errorf("orientation %d without autorotate: mean abs error %.2f", o, d)
		}
	}
}
