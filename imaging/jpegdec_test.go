package imaging

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

func TestJPEGShrinkFactor(t *testing.T) {
	for _, c := range []struct {
		scale float64
		want  int
	}{
		{0.1, 8}, {1.0 / 8, 8}, {0.126, 4}, {0.2, 4}, {0.25, 4}, {0.26, 2},
		{0.5, 2}, {0.51, 1}, {1, 1}, {2, 1},
		{400.0 / 4000, 8}, {1000.0 / 4000, 4}, {3000.0 / 4000, 1},
	} {
		if got := jpegShrink(c.scale); got != c.want {
			t.Errorf("jpegShrink(%g) = %d, want %d", c.scale, got, c.want)
		}
	}
}

func grey(w, h int) *image.Gray {
	src := noisy(w, h, 3)
	g := image.NewGray(src.Rect)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Set(x, y, color.GrayModel.Convert(src.At(x, y)))
		}
	}
	return g
}

// TestJPEGDecodeMatchesLoader checks that the JPEG decoder, from memory
// and from a file, gives exactly the pixels and metadata of libvips' own
// loader at every shrink.
func TestJPEGDecodeMatchesLoader(t *testing.T) {
	for _, c := range []struct {
		name  string
		jpg   []byte
		bands int
	}{
		{"colour", encodeJPEG(t, noisy(643, 481, 5), 90), 3},
		{"grey", encodeJPEG(t, grey(317, 229), 85), 1},
		{"exif", exifJPEG(encodeJPEG(t, noisy(400, 300, 9), 80), 6, "Cam", "2024:01:02 03:04:05", 1.5, 2.5), 3},
		{"truncated", encodeJPEG(t, noisy(300, 200, 4), 90)[:20000], 3},
		// Larger than one read of the file decoder.
		{"large", encodeJPEG(t, noisy(1600, 1200, 6), 95), 3},
	} {
		path := toFile(t, c.jpg, c.name+".jpg").path
		for _, run := range []struct {
			from   string
			shrink int
		}{{"memory", 1}, {"memory", 2}, {"memory", 4}, {"memory", 8}, {"file", 1}, {"file", 2}, {"file", 4}, {"file", 8}} {
			shrink := run.shrink
			p := ""
			if run.from == "file" {
				p = path
			}
			fast, lib, err := decodeJPEGBoth(c.jpg, shrink, p)
			if err != nil {
				t.Fatalf("%s from %s 1/%d: %v", c.name, run.from, shrink, err)
			}
			if fast.bands != c.bands {
				t.Errorf("%s from %s 1/%d: %d bands", c.name, run.from, shrink, fast.bands)
			}
			if fast.w != lib.w || fast.h != lib.h || fast.bands != lib.bands || fast.interp != lib.interp ||
				fast.orientation != lib.orientation || fast.xres != lib.xres || fast.exifLen != lib.exifLen {
				t.Errorf("%s from %s 1/%d: got %+v, loader %+v", c.name, run.from, shrink,
					decodedJPEG{w: fast.w, h: fast.h, bands: fast.bands, interp: fast.interp, orientation: fast.orientation, xres: fast.xres, exifLen: fast.exifLen},
					decodedJPEG{w: lib.w, h: lib.h, bands: lib.bands, interp: lib.interp, orientation: lib.orientation, xres: lib.xres, exifLen: lib.exifLen})
			}
			if !bytes.Equal(fast.pix, lib.pix) {
				t.Errorf("%s from %s 1/%d: pixels differ from the loader's", c.name, run.from, shrink)
			}
		}
	}
}

// TestJPEGShrinkOnLoadFile runs downscales of a JPEG held in a file through
// the in-memory decoder: sizes, quality setting and EXIF orientation must
// come out as from the streaming loader.
func TestJPEGShrinkOnLoadFile(t *testing.T) {
	e := newEngine(t, Options{})
	up := pattern(1600, 1200)
	plain := toFile(t, encodeJPEG(t, up, 92), "p.jpg")
	turned := toFile(t, withOrientation(encodeJPEG(t, stored(up, 6), 92), 6), "t.jpg")
	for _, c := range []struct {
		ops  []cdnurl.Op
		w, h int
	}{
		{[]cdnurl.Op{cdnurl.Resize{Size: size(200, 150)}}, 200, 150},    // 1/8 exactly
		{[]cdnurl.Op{cdnurl.Resize{Size: size(160, 120)}}, 160, 120},    // 1/8, then a reduce
		{[]cdnurl.Op{cdnurl.Resize{Size: size(300, 225)}}, 300, 225},    // 1/4, then a reduce
		{[]cdnurl.Op{cdnurl.Resize{Size: size(1000, 750)}}, 1000, 750},  // no shrink
		{[]cdnurl.Op{cdnurl.ScaleCrop{Size: size(100, 100)}}, 100, 100}, // random access after decode
		{[]cdnurl.Op{cdnurl.Resize{Size: size(200, 150)}, cdnurl.Rotate{Degrees: 90}}, 150, 200},
	} {
		for _, src := range []fileSource{plain, turned} {
			res := do(t, e, src, c.ops...)
			got := decode(t, res)
			if got.Bounds().Size() != image.Pt(c.w, c.h) {
				t.Fatalf("%s %v: %v", src.path, opNames(c.ops), got.Bounds().Size())
			}
			want := decode(t, do(t, e, memSource{encodeJPEG(t, up, 92)}, c.ops...))
			if d := mae(t, got, want, false); d > 3 {
				t.Errorf("%s %v: mean abs error %.2f against the upright source", src.path, opNames(c.ops), d)
			}
		}
	}
	// Quality 80 by default, 95 for "best": the larger file.
	ops := []cdnurl.Op{cdnurl.Resize{Size: size(400, 300)}}
	normal := do(t, e, plain, ops...)
	best := do(t, e, plain, append(ops, cdnurl.Quality{Level: "best"})...)
	if len(best.Body) <= len(normal.Body) {
		t.Errorf("quality best %d bytes, normal %d", len(best.Body), len(normal.Body))
	}
	res, err := e.Do(context.Background(), "u", plain, append(ops, cdnurl.Format{Format: "webp"}), "", nil)
	if err != nil || res.Width != 400 || res.Height != 300 || res.Format != "webp" {
		t.Fatalf("webp: %v %+v", err, res)
	}
}
