package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/reqctx"
	"github.com/satchel-project/satchel/metrics"
)

// Surfaces a request may belong to (a metrics label).
const (
	surfaceUpload = "upload"
	surfaceREST   = "rest"
	surfaceCDN    = "cdn"
	surfaceOther  = "other"
)

// uploadPrefixes are the paths of the Upload API's routes.
var uploadPrefixes = []string{"/base/", "/multipart/", "/from_url/", "/info/", "/group/"}

// surfaceOf tells the API surface of a route pattern ("" when no route matched).
func surfaceOf(pattern string) string {
	_, path, _ := strings.Cut(pattern, " ")
	switch {
	case pattern == "":
		return surfaceOther
	case path == "/":
		return surfaceCDN
	case path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/dashboard" || strings.HasPrefix(path, "/dashboard/"):
		return surfaceOther
	}
	for _, p := range uploadPrefixes {
		if strings.HasPrefix(path, p) {
			return surfaceUpload
		}
	}
	return surfaceREST
}

// observe gives each request an id (X-Request-Id when the client sent a sane
// one, echoed in the answer), records its metrics and writes one access log
// line. Query strings (signatures, tokens) and headers are never logged.
func observe(mux *http.ServeMux, m *metrics.Metrics, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, route := mux.Handler(r)
		info := &reqctx.Info{ID: reqctx.CleanID(r.Header.Get("X-Request-Id")), Route: route}
		w.Header().Set("X-Request-Id", info.ID)
		rw := &countingWriter{ResponseWriter: w}
		mux.ServeHTTP(rw, r.WithContext(reqctx.With(r.Context(), info)))
		if rw.status == 0 {
			rw.status = http.StatusOK
		}
		d := time.Since(start)
		surface := surfaceOf(route)
		if route == "" {
			route = "unmatched"
		}
		m.HTTPRequest(surface, route, rw.status, d)
		if surface == surfaceCDN {
			m.CDNBytes(rw.bytes)
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes),
			slog.Duration("duration", d),
			slog.String("request_id", info.ID),
		}
		if p := info.Project(); p != "" {
			attrs = append(attrs, slog.String("project", p))
		}
		log.LogAttrs(context.Background(), slog.LevelInfo, "http request", attrs...)
	})
}

// countingWriter remembers the status and counts the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(p)
	c.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the server's sendfile path for file bodies (http.ServeContent).
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := io.Copy(c.ResponseWriter, r)
	c.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Flush passes flushes on (streamed archives).
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// observedStore counts the files the store creates by upload kind and the
// webhook delivery attempts it records.
type observedStore struct {
	satchel.Store
	m *metrics.Metrics
}

func (s observedStore) CreateFiles(ctx context.Context, files []*satchel.File, events []*satchel.Event) error {
	err := s.Store.CreateFiles(ctx, files, events)
	if err == nil {
		var n int64
		for _, f := range files {
			n += f.Size
		}
		s.m.Upload(createKind(ctx), len(files), n)
	}
	return err
}

// createKind tells how files being created arrived: in a direct upload, a
// copy made through the REST API, or (outside any request, in a job that
// carries at most the id of the request that queued it) a from-URL download
// finished by the fetch workers.
func createKind(ctx context.Context) string {
	info := reqctx.From(ctx)
	switch {
	case info == nil || info.Route == "":
		return metrics.KindFromURL
	case surfaceOf(info.Route) == surfaceUpload:
		return metrics.KindDirect
	}
	return metrics.KindCopy
}

func (s observedStore) CompleteUploadSession(ctx context.Context, uuid string, f *satchel.File, events []*satchel.Event) error {
	err := s.Store.CompleteUploadSession(ctx, uuid, f, events)
	if err == nil {
		s.m.Upload(metrics.KindMultipart, 1, f.Size)
	}
	return err
}

func (s observedStore) FinishDelivery(ctx context.Context, d *satchel.Delivery) error {
	err := s.Store.FinishDelivery(ctx, d)
	if err == nil {
		switch d.Status {
		case satchel.DeliveryDelivered:
			s.m.WebhookDelivery("delivered")
		case satchel.DeliveryFailed:
			s.m.WebhookDelivery("failed")
		default:
			s.m.WebhookDelivery("retry")
		}
	}
	return err
}
