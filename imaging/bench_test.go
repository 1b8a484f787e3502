package imaging

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

var (
	photoOnce sync.Once
	photoJPEG []byte
)

// photo is a 4000x3000 JPEG at quality 90 with photo-like noise (a
// smooth synthetic picture would decode unrealistically fast).
func photo(b *testing.B) []byte {
	photoOnce.Do(func() { photoJPEG = encodeJPEG(b, noisy(4000, 3000, 7), 90) })
	return photoJPEG
}

func benchResize(b *testing.B, format string) {
	jpg := photo(b)
	path := filepath.Join(b.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, jpg, 0o644); err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, Options{})
	ops := []cdnurl.Op{cdnurl.Resize{Size: size(400, 300)}, cdnurl.Format{Format: format}}
	check := func(b *testing.B, res *Result) {
		if res.Width != 400 || res.Height != 300 || res.Format != format {
			b.Fatalf("%dx%d %s", res.Width, res.Height, res.Format)
		}
	}
	b.Logf("source %d bytes", len(jpg))
	for _, src := range []struct {
		name string
		src  Source
	}{{"engine/memory", memSource{jpg}}, {"engine/file", fileSource{path}}} {
		b.Run(src.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				res, err := e.Do(context.Background(), "u", src.src, ops, "", nil)
				if err != nil {
					b.Fatal(err)
				}
				check(b, res)
			}
		})
	}
	b.Run("vips_thumbnail_buffer", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			out, err := plainThumbnail(jpg, 400, 300, format, 80)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				if _, w, h, _, _ := decodeRGBA(out); w != 400 || h != 300 {
					b.Fatalf("thumbnail %dx%d", w, h)
				}
			}
		}
	})
	// Throughput with all cores busy: the engine's pool against plain
	// calls from as many goroutines.
	b.Run("engine/memory/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.Do(context.Background(), "u", memSource{jpg}, ops, "", nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("vips_thumbnail_buffer/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := plainThumbnail(jpg, 400, 300, format, 80); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkResize4000x3000ToJPEG400x300(b *testing.B) { benchResize(b, "jpeg") }

func BenchmarkResize4000x3000ToWebP400x300(b *testing.B) { benchResize(b, "webp") }

// BenchmarkPreviewOps is a heavier everyday chain on the same photo.
func BenchmarkPreviewOps(b *testing.B) {
	jpg := photo(b)
	e := newEngine(b, Options{})
	ops := []cdnurl.Op{
		cdnurl.Preview{Size: &cdnurl.Size{W: px(800), H: px(800), WSet: true, HSet: true}},
		cdnurl.Adjust{Op: "saturation", Value: -30}, cdnurl.Adjust{Op: "contrast", Value: 20},
		cdnurl.Sharp{Strength: 5}, cdnurl.Quality{Level: "better"}, cdnurl.Progressive{On: true},
	}
	for i := 0; i < b.N; i++ {
		res, err := e.Do(context.Background(), "u", memSource{jpg}, ops, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Width != 800 {
			b.Fatal(res.Width)
		}
	}
}
