package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestTracingExportsOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, a node
// exports the spans of its requests and of the jobs they queue over
// OTLP/HTTP (here to a local receiver of /v1/traces).
func TestTracingExportsOTLP(t *testing.T) {
	var mu sync.Mutex
	var posts int
	var got []byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == "POST" && r.URL.Path == "/v1/traces" {
			mu.Lock()
			posts++
			got = append(got, b...)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer recv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	s := startServer(t, nil)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("traced bytes"))
	}))
	defer src.Close()
	uploadFromURL(t, s.URL, src.URL+"/t.txt")
	within(t, "the request's and the fetch job's spans", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return posts > 0 && bytes.Contains(got, []byte("POST /from_url/")) && bytes.Contains(got, []byte("job fetch"))
	})
}
