package imaging

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

func solidImage(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// over blends layer onto base (opaque) at x,y with extra opacity k.
func over(base, layer *image.NRGBA, x0, y0 int, k float64) *image.NRGBA {
	out := sub(base, 0, 0, base.Bounds().Dx(), base.Bounds().Dy(), color.NRGBA{})
	for y := 0; y < layer.Bounds().Dy(); y++ {
		for x := 0; x < layer.Bounds().Dx(); x++ {
			p := image.Pt(x0+x, y0+y)
			if !p.In(out.Bounds()) {
				continue
			}
			s, d := layer.NRGBAAt(x, y), out.NRGBAAt(p.X, p.Y)
			a := float64(s.A) / 255 * k
			mix := func(s, d uint8) uint8 { return clamp8(float64(s)*a + float64(d)*(1-a)) }
			out.SetNRGBA(p.X, p.Y, color.NRGBA{mix(s.R, d.R), mix(s.G, d.G), mix(s.B, d.B), 255})
		}
	}
	return out
}

// mapOverlays serves overlay files from memory.
func mapOverlays(m map[string][]byte) Overlays {
	return func(uuid string) (Source, error) {
		b, ok := m[uuid]
		if !ok {
			return nil, errors.New("no such file")
		}
		return memSource{b}, nil
	}
}

func TestOverlay(t *testing.T) {
	e := newEngine(t, Options{})
	base := pattern(96, 64)
	in := memSource{encodePNG(t, base)}
	layer := pattern(32, 16)
	for i := 3; i < len(layer.Pix); i += 4 {
		layer.Pix[i] = 200
	}
	solid := solidImage(20, 10, color.NRGBA{10, 20, 240, 255})
	ovs := mapOverlays(map[string][]byte{"layer": encodePNG(t, layer), "solid": encodeJPEG(t, solid, 100)})

	run := func(ops ...cdnurl.Op) *image.NRGBA {
		t.Helper()
		res, err := e.Do(context.Background(), "u", in, ops, "", ovs)
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, res)
	}
	got := run(cdnurl.Overlay{UUID: "layer", Position: &cdnurl.Position{X: px(10), Y: px(12)}})
	if d := mae(t, got, over(base, layer, 10, 12, 1), false); d > 0.6 {
		t.Errorf("overlay: mean abs error %.2f", d)
	}
	got = run(cdnurl.Overlay{UUID: "layer", Position: &cdnurl.Position{Align: cdnurl.AlignBottom}, Opacity: &cdnurl.Length{Value: 50, Percent: true}})
	if d := mae(t, got, over(base, layer, 32, 48, 0.5), false); d > 0.6 {
		t.Errorf("overlay with opacity: mean abs error %.2f", d)
	}
	// Sized relative to the image: 50% x 50% is a 48x32 box; the 2:1
	// layer fits as 48x24, centred.
	got = run(cdnurl.Overlay{UUID: "solid", Size: &cdnurl.Size{W: pct(50), H: pct(50), WSet: true, HSet: true}, Position: &cdnurl.Position{Align: cdnurl.AlignCenter}})
	if d := mae(t, got, over(base, solidImage(48, 24, color.NRGBA{10, 20, 240, 255}), 24, 20, 1), false); d > 1 {
		t.Errorf("sized overlay: mean abs error %.2f", d)
	}
	// self: the image itself, half size, in the bottom-right corner.
	got = run(cdnurl.Overlay{UUID: "self", Size: &cdnurl.Size{W: pct(50), H: pct(50), WSet: true, HSet: true}, Position: &cdnurl.Position{X: pct(100), Y: pct(100)}})
	if d := mae(t, got, over(base, boxResize(base, 48, 32), 48, 32, 1), false); d > 2 {
		t.Errorf("self overlay: mean abs error %.2f", d)
	}
	if _, err := e.Do(context.Background(), "u", in, []cdnurl.Op{cdnurl.Overlay{UUID: "missing"}}, "", ovs); !isOpError(err) {
		t.Errorf("missing overlay: %v", err)
	}
}

func isOpError(err error) bool {
	var oe *OpError
	return errors.As(err, &oe)
}

func TestRect(t *testing.T) {
	e := newEngine(t, Options{})
	base := pattern(96, 64)
	got := decode(t, do(t, e, memSource{encodePNG(t, base)}, cdnurl.Rect{
		Color: cdnurl.Color{R: 255, A: 128}, Size: cdnurl.Size{W: pct(50), H: px(20), WSet: true, HSet: true},
		Position: cdnurl.Position{X: pct(50), Y: pct(50)},
	}))
	want := over(base, solidImage(48, 20, color.NRGBA{255, 0, 0, 128}), 24, 22, 1)
	if d := mae(t, got, want, false); d > 0.6 {
		t.Errorf("rect: mean abs error %.2f", d)
	}
}

func TestText(t *testing.T) {
	e := newEngine(t, Options{})
	base := solidImage(200, 100, color.NRGBA{255, 255, 255, 255})
	in := memSource{encodePNG(t, base)}
	box := image.Rect(20, 10, 180, 90)
	text := cdnurl.Text{Size: size(160, 80), Position: cdnurl.Position{X: px(20), Y: px(10)}, Text: "Up~load <&>\nsecond line"}
	red := cdnurl.Color{R: 255, A: 255}
	got := decode(t, do(t, e, in, cdnurl.Font{Size: 20, Color: &red}, text))
	var inked, outside int
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			c := got.NRGBAAt(x, y)
			if c == (color.NRGBA{255, 255, 255, 255}) {
				continue
			}
			if !image.Pt(x, y).In(box) {
				outside++
				continue
			}
			if c.R < c.G || c.R < c.B || math.Abs(float64(c.G)-float64(c.B)) > 2 {
				t.Fatalf("pixel %v is %v, not red ink", image.Pt(x, y), c)
			}
			inked++
		}
	}
	if inked < 100 || outside != 0 {
		t.Errorf("text: %d inked pixels in the box, %d changed outside", inked, outside)
	}

	// A filled box paints the whole box; the glyphs sit bottom-right.
	blue := cdnurl.Color{B: 255, A: 255}
	pad := 4
	got = decode(t, do(t, e, in, cdnurl.TextAlign{H: "right", V: "bottom"}, cdnurl.Font{Size: 16},
		cdnurl.TextBox{Mode: "fill", Color: &blue, Padding: &pad}, text))
	if c := got.NRGBAAt(21, 11); c != (color.NRGBA{0, 0, 255, 255}) {
		t.Errorf("box corner is %v", c)
	}
	if c := got.NRGBAAt(10, 5); c != (color.NRGBA{255, 255, 255, 255}) {
		t.Errorf("outside the box is %v", c)
	}
	var dark [2]int // ink in the left and right halves of the box
	for y := 10; y < 90; y++ {
		for x := 20; x < 180; x++ {
			if c := got.NRGBAAt(x, y); c.B < 128 {
				dark[(x-20)/80]++
			}
		}
	}
	if dark[1] == 0 || dark[1] < dark[0] {
		t.Errorf("right-aligned ink: left %d, right %d", dark[0], dark[1])
	}
}

func TestBorderRadius(t *testing.T) {
	e := newEngine(t, Options{})
	c := color.NRGBA{30, 160, 90, 255}
	img := solidImage(64, 64, c)
	res := do(t, e, memSource{encodePNG(t, img)}, cdnurl.BorderRadius{Radii: []cdnurl.Length{pct(50)}})
	got := decode(t, res)
	if res.Format != "png" {
		t.Fatalf("format %s", res.Format)
	}
	// Expected alpha: coverage of a 32 px radius circle.
	var sum float64
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			var cover float64
			for sy := 0; sy < 4; sy++ {
				for sx := 0; sx < 4; sx++ {
					dx, dy := float64(x)+(float64(sx)+0.5)/4-32, float64(y)+(float64(sy)+0.5)/4-32
					if dx*dx+dy*dy <= 32*32 {
						cover++
					}
				}
			}
			sum += math.Abs(cover/16*255 - float64(got.NRGBAAt(x, y).A))
		}
	}
	if d := sum / 64 / 64; d > 6 {
		t.Errorf("circle alpha: mean abs error %.2f", d)
	}
	if got.NRGBAAt(0, 0).A != 0 || got.NRGBAAt(32, 32) != c {
		t.Errorf("corner %v, centre %v", got.NRGBAAt(0, 0), got.NRGBAAt(32, 32))
	}

	// JPEG cannot hold alpha: the corners take the setfill colour.
	res = do(t, e, memSource{encodeJPEG(t, img, 95)}, cdnurl.SetFill{Color: cdnurl.Color{R: 255, A: 255}},
		cdnurl.BorderRadius{Radii: []cdnurl.Length{px(10), px(0)}})
	got = decode(t, res)
	if res.Format != "jpeg" {
		t.Fatalf("format %s", res.Format)
	}
	near := func(a, b color.NRGBA) bool {
		// Wide: JPEG's chroma subsampling smears pure colours.
		return math.Abs(float64(a.R)-float64(b.R)) < 30 && math.Abs(float64(a.G)-float64(b.G)) < 30 && math.Abs(float64(a.B)-float64(b.B)) < 30
	}
	red := color.NRGBA{255, 0, 0, 255}
	if !near(got.NRGBAAt(0, 0), red) || !near(got.NRGBAAt(63, 63), red) || !near(got.NRGBAAt(63, 0), c) || !near(got.NRGBAAt(0, 63), c) {
		t.Errorf("corners %v %v %v %v", got.NRGBAAt(0, 0), got.NRGBAAt(63, 0), got.NRGBAAt(63, 63), got.NRGBAAt(0, 63))
	}
}
