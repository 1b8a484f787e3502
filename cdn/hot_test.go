package cdn_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/variantcache"
)

// coldHandler is a second handler on e's store and bucket with no hot
// cache (and its own variant cache): what every answer was before.
func coldHandler(t *testing.T, e *benchEnv) *cdn.Handler {
	t.Helper()
	variants, err := variantcache.Open(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return &cdn.Handler{Store: e.store, Bucket: e.bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Engine: e.engine, Variants: variants, HotCacheBytes: -1}
}

func do(h http.Handler, method, url string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, url, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestHotAnswersMatchFullAnswers asks the same things of a handler with the
// hot cache (first to fill it, then from it) and of one without: status,
// every header and the body are the same, for plain GETs and HEADs, ranges
// and preconditions.
func TestHotAnswersMatchFullAnswers(t *testing.T) {
	e := newEnv(t, nil)
	cold := coldHandler(t, e)
	ref := do(cold, "GET", e.variantURL, nil)
	tag := ref.Header().Get("ETag")
	lastMod := ref.Header().Get("Last-Modified")
	if tag == "" || lastMod == "" {
		t.Fatalf("no ETag or Last-Modified: %v", ref.Header())
	}
	urls := []string{e.variantURL, e.smallURL, e.smallURL + "-/inline/yes/", e.smallURL + "renamed.txt",
		"/" + e.photoID + "/-/resize/100x/-/format/auto/"}
	cases := []struct {
		method string
		hdr    map[string]string
	}{
		{"GET", nil},
		{"HEAD", nil},
		{"GET", map[string]string{"Accept": "image/webp,*/*"}},
		{"GET", map[string]string{"Range": "bytes=3-9"}},
		{"GET", map[string]string{"Range": "bytes=0-1,5-6"}},
		{"GET", map[string]string{"Range": "bytes=999999999-"}},
		{"GET", map[string]string{"If-None-Match": tag}},
		{"GET", map[string]string{"If-None-Match": `"other"`}},
		{"HEAD", map[string]string{"If-Modified-Since": lastMod}},
		{"GET", map[string]string{"If-Match": `"other"`}},
		{"GET", map[string]string{"Range": "bytes=1-2", "If-Range": `"other"`}},
	}
	for _, url := range urls {
		for _, c := range cases {
			want := do(cold, c.method, url, c.hdr)
			if want.Code >= 500 {
				t.Fatalf("%s %s %v: %d", c.method, url, c.hdr, want.Code)
			}
			for round := range 2 {
				got := do(e.h, c.method, url, c.hdr)
				// Multipart range answers differ by their random boundary only.
				for _, r := range []*httptest.ResponseRecorder{got, want} {
					if ct, _, ok := strings.Cut(r.Header().Get("Content-Type"), "; boundary="); ok {
						r.Header().Set("Content-Type", ct)
					}
				}
				if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) {
					t.Errorf("%s %s %v (round %d): %d %v, want %d %v", c.method, url, c.hdr, round, got.Code, got.Header(), want.Code, want.Header())
				}
				if len(c.hdr["Range"]) < 12 && got.Body.String() != want.Body.String() {
					t.Errorf("%s %s %v (round %d): body differs (%d vs %d bytes)", c.method, url, c.hdr, round, got.Body.Len(), want.Body.Len())
				}
			}
		}
	}
	if n, _ := e.h.HotCacheLen(); n == 0 {
		t.Error("nothing was kept in the hot cache")
	}
}

// TestHotPathTouchesNeitherStoreNorDisk serves a cached variant and a small
// original again and again: after the first answer, no store query and no
// file is needed (their files are even removed from disk).
func TestHotPathTouchesNeitherStoreNorDisk(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.MetaCacheTTL = time.Hour })
	first := map[string]string{}
	for _, url := range []string{e.variantURL, e.smallURL} {
		w := do(e.h, "GET", url, nil)
		if w.Code != 200 {
			t.Fatalf("%s: %d", url, w.Code)
		}
		first[url] = w.Body.String()
	}
	files, projects := e.store.files.Load(), e.store.projects.Load()
	if err := os.RemoveAll(filepath.Join(e.dir, "variants")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(e.dir, "files", "blobs")); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		for url, body := range first {
			w := do(e.h, "GET", url, nil)
			if w.Code != 200 || w.Body.String() != body {
				t.Fatalf("%s: %d, %d bytes", url, w.Code, w.Body.Len())
			}
		}
	}
	if f, p := e.store.files.Load(), e.store.projects.Load(); f != files || p != projects {
		t.Errorf("store asked again: %d file and %d project lookups, had %d and %d", f, p, files, projects)
	}
}

// TestHotPurge deletes a file: the node that deletes it (Purge) stops
// serving it at once; another node stops once its metadata cache entry
// expires (here at once, with a TTL of 1 ns).
func TestHotPurge(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.MetaCacheTTL = time.Hour })
	other := coldHandler(t, e)
	other.HotCacheBytes, other.MetaCacheTTL = 0, time.Nanosecond
	for _, h := range []*cdn.Handler{e.h, other} {
		for range 2 {
			for _, url := range []string{e.variantURL, e.smallURL} {
				if w := do(h, "GET", url, nil); w.Code != 200 {
					t.Fatalf("%s: %d", url, w.Code)
				}
			}
		}
	}
	if n, _ := other.HotCacheLen(); n != 2 {
		t.Fatalf("other node keeps %d answers, want 2", n)
	}
	small := e.smallURL[1 : len(e.smallURL)-1]
	for _, id := range []string{e.photoID, small} {
		if err := e.db.RemoveFile(context.Background(), id, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Without a purge this node still serves its cached metadata.
	if w := do(e.h, "GET", e.smallURL, nil); w.Code != 200 {
		t.Fatalf("before the purge: %d", w.Code)
	}
	e.h.Purge(e.photoID)
	e.h.Purge(small)
	if n, _ := e.h.HotCacheLen(); n != 0 {
		t.Errorf("%d answers kept after the purge", n)
	}
	for _, h := range []*cdn.Handler{e.h, other} {
		for _, url := range []string{e.variantURL, e.smallURL} {
			if w := do(h, "GET", url, nil); w.Code != 404 {
				t.Errorf("%s after the delete: %d, want 404", url, w.Code)
			}
		}
	}
	if n, _ := other.HotCacheLen(); n != 0 {
		t.Errorf("other node keeps %d answers of deleted files", n)
	}
}

// TestHotCacheBounded keeps the hot cache under its byte bound and leaves
// bodies over the item bound on disk.
func TestHotCacheBounded(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.HotCacheBytes = 105_000 })
	for range 2 {
		for _, url := range []string{e.smallURL, e.variantURL, e.largeURL} {
			if w := do(e.h, "GET", url, nil); w.Code != 200 {
				t.Fatalf("%s: %d", url, w.Code)
			}
		}
	}
	n, bytes := e.h.HotCacheLen()
	if bytes > 105_000 || n != 1 {
		t.Errorf("hot cache holds %d answers, %d bytes; want 1 under 105000", n, bytes)
	}
}

// fileSink records whether the body reached ReadFrom as a file (which
// net/http hands to sendfile).
type fileSink struct {
	*httptest.ResponseRecorder
	fromFile bool
}

func (s *fileSink) ReadFrom(r io.Reader) (int64, error) {
	src := r
	if lr, ok := r.(*io.LimitedReader); ok {
		src = lr.R
	}
	if _, ok := src.(syscall.Conn); ok {
		s.fromFile = true
	}
	return io.Copy(struct{ io.Writer }{s.ResponseRecorder}, r)
}

// TestLargeBodiesLeaveAsFiles serves originals over the hot item bound:
// their bodies reach the ResponseWriter's ReadFrom as files.
func TestLargeBodiesLeaveAsFiles(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.HotItemMax = 1000 })
	for url, want := range map[string]int{e.largeURL: len(e.large), e.smallURL: len(e.small)} {
		w := &fileSink{ResponseRecorder: httptest.NewRecorder()}
		e.h.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
		if w.Code != 200 || w.Body.Len() != want || w.Header().Get("Content-Length") == "" {
			t.Fatalf("%s: %d, %d bytes, want %d", url, w.Code, w.Body.Len(), want)
		}
		if !w.fromFile {
			t.Errorf("%s: body did not reach ReadFrom as a file", url)
		}
	}
}

// TestHandlersRunNoGoroutines makes and uses many handlers: none leaves a
// goroutine behind.
func TestHandlersRunNoGoroutines(t *testing.T) {
	e := newEnv(t, nil)
	before := runtime.NumGoroutine()
	for range 50 {
		h := coldHandler(t, e)
		if w := do(h, "GET", e.smallURL, nil); w.Code != 200 {
			t.Fatalf("%d", w.Code)
		}
	}
	if after := runtime.NumGoroutine(); after-before >= 25 {
		t.Errorf("%d goroutines after 50 handlers, %d before", after, before)
	}
}

// TestHotConcurrent serves kept answers from many goroutines while an
// original's caches are purged over and over (the file stays; a purge of a
// file with variants would mark them deleted): every answer is whole and
// right. Run with -race.
func TestHotConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	small := e.smallURL[1 : len(e.smallURL)-1]
	want := map[string]string{e.variantURL: string(e.variant), e.smallURL: string(e.small)}
	done := make(chan struct{})
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		for {
			select {
			case <-done:
				return
			default:
				e.h.Purge(small)
				runtime.Gosched()
			}
		}
	}()
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			msg := ""
			for range 100 {
				for url, body := range want {
					w := do(e.h, "GET", url, nil)
					if msg == "" && (w.Code != 200 || w.Body.String() != body) {
						msg = url + ": " + strings.TrimSpace(w.Body.String()[:min(w.Body.Len(), 80)])
					}
				}
			}
			errs <- msg
		}()
	}
	for range 8 {
		if msg := <-errs; msg != "" {
			t.Error(msg)
		}
	}
	close(done)
	<-purged
}
