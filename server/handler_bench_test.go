package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/satchel-project/satchel/internal/logbuf"
	"github.com/satchel-project/satchel/server"
)

// benchWriter is a ResponseWriter that keeps nothing but the status and the
// byte count, so that the benchmark measures the handler chain alone.
type benchWriter struct {
	h      http.Header
	status int
	n      int64
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

// benchUpload stores data through the Upload API of h and returns its uuid.
func benchUpload(b *testing.B, h http.Handler, data []byte, name string) string {
	b.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("UPLOADCARE_PUB_KEY", testPub)
	mw.WriteField("UPLOADCARE_STORE", "1")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	r := httptest.NewRequest("POST", "/base/", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var out map[string]string
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out["file"] == "" {
		b.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	return out["file"]
}

// benchFullHandler serves an original of size bytes through the node's whole
// handler (request id, routing, metrics, access log written as text to
// /dev/null, CDN hot cache) b.N times and checks every answer. batched
// writes the access log as cmd/satchel does (logbuf's batches and text
// handler) instead of one slog.TextHandler write per request.
func benchFullHandler(b *testing.B, size int, batched bool) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	s := startServer(b, func(c *server.Config) {
		c.Log = slog.New(slog.NewTextHandler(devnull, nil))
		if batched {
			lines := logbuf.New(devnull, logbuf.Options{})
			b.Cleanup(func() { lines.Close() })
			c.AccessLogger = slog.New(logbuf.NewTextHandler(lines, nil))
		}
	})
	h := s.Handler()
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := "/" + benchUpload(b, h, data, "orig.bin") + "/"
	r := httptest.NewRequest("GET", path, nil)
	w := &benchWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // the first answer fills the hot cache
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, r)
		if w.status != 200 || w.n != int64(size) {
			b.Fatalf("status %d, %d bytes, want 200 and %d", w.status, w.n, size)
		}
	}
}

// BenchmarkFullHandlerOriginal16K serves a 16 KB original (the size of the
// benchmark's cached variant) from the hot cache through the whole chain.
func BenchmarkFullHandlerOriginal16K(b *testing.B) { benchFullHandler(b, 16000, false) }

// BenchmarkFullHandlerOriginal100K serves a 100 KB original the same way.
func BenchmarkFullHandlerOriginal100K(b *testing.B) { benchFullHandler(b, 100000, false) }

// BenchmarkFullHandlerOriginal16KBatched logs as cmd/satchel does.
func BenchmarkFullHandlerOriginal16KBatched(b *testing.B) { benchFullHandler(b, 16000, true) }
