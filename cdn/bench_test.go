package cdn_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/bench/cdn/gostatic/static"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/variantcache"
)

// benchEnv is a CDN handler on real SQLite and a real disk bucket, with a
// photo (and its 400x300 variant, computed once), a 100 KB and a 2 MB
// original; ref holds the same bytes as plain files for the net/http
// reference handlers (bench/cdn/gostatic).
type benchEnv struct {
	h                      *cdn.Handler
	store                  *countingStore
	db                     satchel.Store
	bucket                 blobstore.Bucket
	engine                 *imaging.Engine
	dir                    string
	photoID                string
	variantURL             string
	smallURL, largeURL     string
	variant, small, large  []byte
	ref                    string
	refFiles, refMemory    http.Handler
	variantName, smallName string
}

// countingStore counts the file and project lookups reaching the store.
type countingStore struct {
	cdn.Store
	files, projects atomic.Int64
}

func (s *countingStore) File(ctx context.Context, projectID int64, id string) (*satchel.File, error) {
	s.files.Add(1)
	return s.Store.File(ctx, projectID, id)
}

func (s *countingStore) ProjectByID(ctx context.Context, id int64) (*satchel.Project, error) {
	s.projects.Add(1)
	return s.Store.ProjectByID(ctx, id)
}

func newBenchEnv(b testing.TB) *benchEnv { return newEnv(b, nil) }

// newEnv makes the environment; configure, when set, adjusts the handler
// before its first request.
func newEnv(b testing.TB, configure func(*cdn.Handler)) *benchEnv {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	store, err := server.OpenStore(ctx, dir, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	bucket, err := server.OpenBucket(ctx, dir, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bucket.Close() })
	p := &satchel.Project{Name: "p", PublicKey: "pk-" + uuid.NewString()[:8], SecretKey: "sk"}
	if err := store.CreateProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		return buf
	}
	img := image.NewNRGBA(image.Rect(0, 0, 1600, 1200))
	for y := 0; y < 1200; y++ {
		for x := 0; x < 1600; x++ {
			n := uint8(rng.IntN(40))
			img.SetNRGBA(x, y, color.NRGBA{uint8(x/8) + n, uint8(y/6) + n, uint8((x+y)/16) + n, 255})
		}
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	add := func(body []byte, mime, name string, isImage bool) string {
		key := "blob-" + uuid.NewString()
		w, err := bucket.NewWriter(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(body)
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
		f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Size: int64(len(body)), MimeType: mime,
			OriginalFilename: name, Filename: name, BlobKey: key, IsImage: isImage, IsReady: true,
			Uploaded: time.Now().UTC().Truncate(time.Second)}
		if err := store.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
			b.Fatal(err)
		}
		return f.UUID
	}
	e := &benchEnv{store: &countingStore{Store: store}, db: store, bucket: bucket, dir: dir, small: random(100_000), large: random(2_000_000), ref: filepath.Join(dir, "ref"),
		variantName: "/variant.jpg", smallName: "/orig-100KB.bin"}
	e.photoID = add(photo.Bytes(), "image/jpeg", "photo.jpg", true)
	e.variantURL = "/" + e.photoID + "/-/resize/400x300/-/format/jpeg/"
	e.smallURL = "/" + add(e.small, "application/octet-stream", "orig-100KB.bin", false) + "/"
	e.largeURL = "/" + add(e.large, "application/octet-stream", "orig-2MB.bin", false) + "/"

	e.engine, err = imaging.New(imaging.Options{})
	if err != nil {
		b.Fatal(err)
	}
	variants, err := variantcache.Open(filepath.Join(dir, "variants"), 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	e.h = &cdn.Handler{Store: e.store, Bucket: bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Engine: e.engine, Variants: variants}
	if configure != nil {
		configure(e.h)
	}
	// The first request computes the variant; later ones are cache hits.
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest("GET", e.variantURL, nil))
	if rec.Code != 200 {
		b.Fatalf("variant: %d %s", rec.Code, rec.Body)
	}
	e.variant = rec.Body.Bytes()

	if err := os.MkdirAll(e.ref, 0o750); err != nil {
		b.Fatal(err)
	}
	for name, body := range map[string][]byte{"variant.jpg": e.variant, "orig-100KB.bin": e.small, "orig-2MB.bin": e.large} {
		if err := os.WriteFile(filepath.Join(e.ref, name), body, 0o640); err != nil {
			b.Fatal(err)
		}
	}
	e.refFiles = static.FileServer(e.ref)
	if e.refMemory, err = static.Memory(e.ref); err != nil {
		b.Fatal(err)
	}
	return e
}

// sink is a ResponseWriter that keeps nothing: the benchmarks measure the
// handler's own work. Like net/http's writer it has ReadFrom, copying
// through one reused buffer.
type sink struct {
	h      http.Header
	status int
	n      int64
	buf    []byte
}

func newSink() *sink { return &sink{h: http.Header{}, buf: make([]byte, 32<<10)} }

func (s *sink) Header() http.Header { return s.h }
func (s *sink) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *sink) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = 200
	}
	s.n += int64(len(p))
	return len(p), nil
}

type writerOnly struct{ io.Writer }

func (s *sink) ReadFrom(r io.Reader) (int64, error) {
	return io.CopyBuffer(writerOnly{s}, r, s.buf)
}

func (s *sink) reset() {
	clear(s.h)
	s.status, s.n = 0, 0
}

// serveLoop calls h for path b.N times and checks every answer.
func serveLoop(b *testing.B, h http.Handler, path string, want int) {
	b.Helper()
	w := newSink()
	r := httptest.NewRequest("GET", path, nil)
	b.SetBytes(int64(want))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
		if w.status != 200 || w.n != int64(want) {
			b.Fatalf("%s: status %d, %d bytes, want 200 and %d", path, w.status, w.n, want)
		}
	}
}

// httpLoop fetches path from h over loopback HTTP b.N times, one
// keep-alive connection, and checks every answer: net/http's own work on
// both sides is included, so go-memory there is the wall a net/http handler
// cannot pass.
func httpLoop(b *testing.B, h http.Handler, path string, want int) {
	b.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(want))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.CopyBuffer(io.Discard, resp.Body, buf)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(want) {
			b.Fatalf("%s: status %d, %d bytes, want 200 and %d", path, resp.StatusCode, n, want)
		}
	}
}

// compare runs the handler-level and the HTTP benchmarks of one body:
// handler/* measure the handlers' own work (allocs/op are Satchel's alone),
// http/* the whole request over loopback.
func compare(b *testing.B, e *benchEnv, url, refName string, want int, handlerLevel bool) {
	if handlerLevel {
		b.Run("handler/satchel", func(b *testing.B) { serveLoop(b, e.h, url, want) })
		b.Run("handler/go-servefile", func(b *testing.B) { serveLoop(b, e.refFiles, refName, want) })
	}
	b.Run("http/satchel", func(b *testing.B) { httpLoop(b, e.h, url, want) })
	b.Run("http/go-memory", func(b *testing.B) { httpLoop(b, e.refMemory, refName, want) })
	b.Run("http/go-servefile", func(b *testing.B) { httpLoop(b, e.refFiles, refName, want) })
}

// BenchmarkServeCachedVariant serves a cached 400x300 JPEG variant, next to
// net/http answering the same bytes from memory with one Write and from a
// file with FileServer.
func BenchmarkServeCachedVariant(b *testing.B) {
	e := newBenchEnv(b)
	compare(b, e, e.variantURL, e.variantName, len(e.variant), true)
}

// BenchmarkServeOriginalSmall serves a 100 KB original, next to the same
// net/http references.
func BenchmarkServeOriginalSmall(b *testing.B) {
	e := newBenchEnv(b)
	compare(b, e, e.smallURL, e.smallName, len(e.small), true)
}

// BenchmarkServeOriginalLarge fetches a 2 MB original over loopback HTTP,
// where the body can leave through sendfile.
func BenchmarkServeOriginalLarge(b *testing.B) {
	e := newBenchEnv(b)
	compare(b, e, e.largeURL, "/orig-2MB.bin", len(e.large), false)
}
