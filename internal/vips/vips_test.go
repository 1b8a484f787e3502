package vips

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 7, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.png")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartTuning(t *testing.T) {
	if err := Start(); err != nil {
		t.Fatal(err)
	}
	if err := Start(); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if c, m := tuning(); c != 1 || m != 0 {
		t.Errorf("concurrency %d, cache max %d; want 1 and 0", c, m)
	}
}

func TestOpenHeader(t *testing.T) {
	p := writePNG(t, 7, 5)
	if err := Start(); err != nil {
		t.Fatal(err)
	}
	before := LiveObjects()
	h, err := OpenHeader(p, func(l string) bool { return l == "pngload" })
	if err != nil {
		t.Fatal(err)
	}
	if h.Loader() != "pngload" || h.Width() != 7 || h.Height() != 5 || h.Bands() != 3 {
		t.Errorf("header %s %dx%d %d bands", h.Loader(), h.Width(), h.Height(), h.Bands())
	}
	if h.Interpretation() != "srgb" || h.BandFormat() != "uchar" {
		t.Errorf("interpretation %s, format %s", h.Interpretation(), h.BandFormat())
	}
	if _, ok := h.Int("no-such-field"); ok {
		t.Error("absent int field found")
	}
	if _, ok := h.String("no-such-field"); ok || h.Has("no-such-field") {
		t.Error("absent field found")
	}
	h.Close()
	h.Close()
	if after := LiveObjects(); after != before {
		t.Errorf("%d libvips objects alive after Close, %d before", after, before)
	}

	if _, err := OpenHeader(p, func(string) bool { return false }); !errors.Is(err, ErrNotImage) {
		t.Errorf("refused loader: %v, want ErrNotImage", err)
	}
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("not an image at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenHeader(junk, nil); !errors.Is(err, ErrNotImage) {
		t.Errorf("junk: %v, want ErrNotImage", err)
	}
	if _, err := OpenHeader(filepath.Join(t.TempDir(), "missing"), nil); !errors.Is(err, ErrNotImage) {
		t.Errorf("missing file: %v, want ErrNotImage", err)
	}
}

// TestOneBinding checks that libvips is started in this package only:
// two initialisations with different tuning would leave the settings to
// whichever ran first.
func TestOneBinding(t *testing.T) {
	root := filepath.Join("..", "..")
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// bench/ holds stand-alone comparison programs, not Satchel.
			if abs, _ := filepath.Abs(p); abs == self || d.Name() == "bench" || strings.HasPrefix(d.Name(), ".") && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".c", ".h":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range []string{"VIPS_INIT", "vips_init(", "vips_concurrency_set", "vips_cache_set_max"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s calls %s; libvips is started by package internal/vips only", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
