package server

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/internal/logbuf"
	"github.com/satchel-project/satchel/internal/reqctx"
	"github.com/satchel-project/satchel/metrics"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
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

// Access log modes (Config.AccessLog).
const (
	// AccessLogAll writes one line per request (the default).
	AccessLogAll = "all"
	// AccessLogErrors writes the lines of answers with a status of 400 or
	// more only.
	AccessLogErrors = "errors"
	// AccessLogOff writes no access lines.
	AccessLogOff = "off"
)

// observe gives each request an id (X-Request-Id when the client sent a sane
// one, echoed in the answer), records its metrics and writes one access log
// line (as mode says). Query strings (signatures, tokens) and headers are
// never logged. The route is the pattern mux matched while serving the
// request: it is looked up once, by the mux itself.
func observe(mux *http.ServeMux, m *metrics.Metrics, log *slog.Logger, mode string) http.Handler {
	h := log.Handler()
	text, _ := h.(*logbuf.TextHandler) // cmd/satchel's: lines without a slog.Record
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &observed{}
		info, rw := &st.info, &st.rw
		info.ID = reqctx.CleanID(r.Header.Get("X-Request-Id"))
		st.id[0] = info.ID
		w.Header()["X-Request-Id"] = st.id[:]
		rw.ResponseWriter = w
		routed := reqctx.WithRequest(r, info)
		mux.ServeHTTP(rw, routed)
		if rw.status == 0 {
			rw.status = http.StatusOK
		}
		end := time.Now()
		d := end.Sub(start)
		route := routed.Pattern
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetName(cmp.Or(route, "unmatched"))
			span.SetAttributes(attribute.String("http.route", route), attribute.String("request_id", info.ID))
		}
		surface := surfaceOf(route)
		if route == "" {
			route = "unmatched"
		}
		m.HTTPRequest(surface, route, rw.status, d)
		if surface == surfaceCDN {
			m.CDNBytes(rw.bytes)
		}
		switch {
		case mode == AccessLogOff, mode == AccessLogErrors && rw.status < 400:
			return
		}
		ctx := context.Background()
		if !h.Enabled(ctx, slog.LevelInfo) {
			return
		}
		attrs := [...]slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes),
			slog.Duration("duration", d),
			slog.String("request_id", info.ID),
			{},
		}
		n := len(attrs) - 1
		if p := info.Project(); p != "" {
			attrs[n] = slog.String("project", p)
			n++
		}
		if text != nil {
			text.Log(end, slog.LevelInfo, "http request", attrs[:n]...)
			return
		}
		// The record is handed to the handler as Logger.LogAttrs would,
		// without the caller's program counter (no source is logged).
		rec := slog.NewRecord(end, slog.LevelInfo, "http request", 0)
		rec.AddAttrs(attrs[:n]...)
		h.Handle(ctx, rec)
	})
}

// observed is what observe keeps of one request, in one allocation.
type observed struct {
	info reqctx.Info
	rw   countingWriter
	id   [1]string // the X-Request-Id header's value
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
// webhook delivery attempts it records, and times the store calls of the
// hot paths (satchel_db_operation_seconds, op: the method's name in snake
// case).
type observedStore struct {
	satchel.Store
	m  *metrics.Metrics
	db *metrics.Operations
}

func newObservedStore(s satchel.Store, m *metrics.Metrics) observedStore {
	return observedStore{Store: s, m: m, db: m.Operations("satchel_db_operation_seconds",
		"Time the metadata database calls of the hot paths took, by store operation and outcome (ok, not_found, error).")}
}

// done records a store call begun at start.
func (s observedStore) done(op string, start time.Time, err error) {
	outcome := metrics.OutcomeOK
	switch {
	case satchel.IsNotFound(err):
		outcome = metrics.OutcomeNotFound
	case err != nil:
		outcome = metrics.OutcomeError
	}
	s.db.Observe(op, outcome, start)
}

func (s observedStore) ProjectByPublicKey(ctx context.Context, key string) (*satchel.Project, error) {
	start := time.Now()
	p, err := s.Store.ProjectByPublicKey(ctx, key)
	s.done("project_by_public_key", start, err)
	return p, err
}

func (s observedStore) ProjectByID(ctx context.Context, id int64) (*satchel.Project, error) {
	start := time.Now()
	p, err := s.Store.ProjectByID(ctx, id)
	s.done("project_by_id", start, err)
	return p, err
}

func (s observedStore) File(ctx context.Context, projectID int64, uuid string) (*satchel.File, error) {
	start := time.Now()
	f, err := s.Store.File(ctx, projectID, uuid)
	s.done("file", start, err)
	return f, err
}

func (s observedStore) ListFiles(ctx context.Context, q satchel.FileQuery) ([]*satchel.File, error) {
	start := time.Now()
	fs, err := s.Store.ListFiles(ctx, q)
	s.done("list_files", start, err)
	return fs, err
}

func (s observedStore) UpdateFile(ctx context.Context, projectID int64, uuid string, mutate func(f *satchel.File) ([]*satchel.Event, error)) (*satchel.File, error) {
	start := time.Now()
	f, err := s.Store.UpdateFile(ctx, projectID, uuid, mutate)
	s.done("update_file", start, err)
	return f, err
}

func (s observedStore) RemoveFile(ctx context.Context, uuid string, t time.Time, events []*satchel.Event) error {
	start := time.Now()
	err := s.Store.RemoveFile(ctx, uuid, t, events)
	s.done("remove_file", start, err)
	return err
}

func (s observedStore) CreateUploadSession(ctx context.Context, us *satchel.UploadSession) error {
	start := time.Now()
	err := s.Store.CreateUploadSession(ctx, us)
	s.done("create_upload_session", start, err)
	return err
}

func (s observedStore) UploadSession(ctx context.Context, uuid string) (*satchel.UploadSession, error) {
	start := time.Now()
	us, err := s.Store.UploadSession(ctx, uuid)
	s.done("upload_session", start, err)
	return us, err
}

func (s observedStore) CreateFetchTask(ctx context.Context, t *satchel.FetchTask) error {
	start := time.Now()
	err := s.Store.CreateFetchTask(ctx, t)
	s.done("create_fetch_task", start, err)
	return err
}

func (s observedStore) FetchTask(ctx context.Context, token string) (*satchel.FetchTask, error) {
	start := time.Now()
	t, err := s.Store.FetchTask(ctx, token)
	s.done("fetch_task", start, err)
	return t, err
}

func (s observedStore) UpdateFetchTask(ctx context.Context, t *satchel.FetchTask) error {
	start := time.Now()
	err := s.Store.UpdateFetchTask(ctx, t)
	s.done("update_fetch_task", start, err)
	return err
}

func (s observedStore) CreateFiles(ctx context.Context, files []*satchel.File, events []*satchel.Event) error {
	start := time.Now()
	err := s.Store.CreateFiles(ctx, files, events)
	s.done("create_files", start, err)
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
	case info.Route() == "":
		return metrics.KindFromURL
	case surfaceOf(info.Route()) == surfaceUpload:
		return metrics.KindDirect
	}
	return metrics.KindCopy
}

func (s observedStore) CompleteUploadSession(ctx context.Context, uuid string, f *satchel.File, events []*satchel.Event) error {
	start := time.Now()
	err := s.Store.CompleteUploadSession(ctx, uuid, f, events)
	s.done("complete_upload_session", start, err)
	if err == nil {
		s.m.Upload(metrics.KindMultipart, 1, f.Size)
	}
	return err
}

func (s observedStore) FinishDelivery(ctx context.Context, d *satchel.Delivery) error {
	start := time.Now()
	err := s.Store.FinishDelivery(ctx, d)
	s.done("finish_delivery", start, err)
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

// observedBucket times the blob store's calls
// (satchel_blob_operation_seconds, op: the method's name in snake case;
// "commit" is a new blob's final write). It keeps the optional abilities
// of the bucket it wraps (exclusive to the node, least part size).
type observedBucket struct {
	blobstore.Bucket
	ops *metrics.Operations
}

func newObservedBucket(b blobstore.Bucket, m *metrics.Metrics) blobstore.Bucket {
	ob := observedBucket{Bucket: b, ops: m.Operations("satchel_blob_operation_seconds",
		"Time blob store calls took, by operation and outcome (ok, not_found, error).")}
	if mp, ok := b.(interface{ MinPartSize() int64 }); ok {
		return minPartBucket{ob, mp.MinPartSize}
	}
	return ob
}

// minPartBucket is an observedBucket of a backend with a least part size.
type minPartBucket struct {
	observedBucket
	minPart func() int64
}

// MinPartSize is the wrapped bucket's.
func (b minPartBucket) MinPartSize() int64 { return b.minPart() }

// ExclusiveToNode tells whether the wrapped bucket belongs to this node alone.
func (b observedBucket) ExclusiveToNode() bool { return blobstore.IsExclusive(b.Bucket) }

func (b observedBucket) done(op string, start time.Time, err error) {
	outcome := metrics.OutcomeOK
	switch {
	case errors.Is(err, blobstore.ErrNotFound):
		outcome = metrics.OutcomeNotFound
	case err != nil:
		outcome = metrics.OutcomeError
	}
	b.ops.Observe(op, outcome, start)
}

func (b observedBucket) NewWriter(ctx context.Context, key string) (blobstore.Writer, error) {
	start := time.Now()
	w, err := b.Bucket.NewWriter(ctx, key)
	b.done("new_writer", start, err)
	if err != nil {
		return nil, err
	}
	return observedWriter{w, b}, nil
}

func (b observedBucket) Open(ctx context.Context, key string) (blobstore.Reader, error) {
	start := time.Now()
	r, err := b.Bucket.Open(ctx, key)
	b.done("open", start, err)
	return r, err
}

func (b observedBucket) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := b.Bucket.Delete(ctx, key)
	b.done("delete", start, err)
	return err
}

func (b observedBucket) StartMultipart(ctx context.Context, key string, size int64) (string, error) {
	start := time.Now()
	id, err := b.Bucket.StartMultipart(ctx, key, size)
	b.done("start_multipart", start, err)
	return id, err
}

func (b observedBucket) WritePart(ctx context.Context, uploadID string, w blobstore.PartWrite, r io.Reader) (string, error) {
	start := time.Now()
	tag, err := b.Bucket.WritePart(ctx, uploadID, w, r)
	b.done("write_part", start, err)
	return tag, err
}

func (b observedBucket) CompleteMultipart(ctx context.Context, uploadID, key string, tags []string) error {
	start := time.Now()
	err := b.Bucket.CompleteMultipart(ctx, uploadID, key, tags)
	b.done("complete_multipart", start, err)
	return err
}

func (b observedBucket) AbortMultipart(ctx context.Context, uploadID string) error {
	start := time.Now()
	err := b.Bucket.AbortMultipart(ctx, uploadID)
	b.done("abort_multipart", start, err)
	return err
}

// observedWriter times a new blob's Commit.
type observedWriter struct {
	blobstore.Writer
	b observedBucket
}

func (w observedWriter) Commit() error {
	start := time.Now()
	err := w.Writer.Commit()
	w.b.done("commit", start, err)
	return err
}
