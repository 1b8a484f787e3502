// Package server wires Satchel together: store, blobs, services and every
// HTTP surface on one handler. cmd/satchel and the tests both use it, so the
// tests run exactly what users run.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/addons"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/convert"
	"github.com/satchel-project/satchel/dashboard"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/imaging/haar"
	"github.com/satchel-project/satchel/inspect"
	"github.com/satchel-project/satchel/internal/reqctx"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/jsonapi"
	"github.com/satchel-project/satchel/legacyapi"
	"github.com/satchel-project/satchel/metrics"
	"github.com/satchel-project/satchel/restapi"
	"github.com/satchel-project/satchel/sqlstore"
	"github.com/satchel-project/satchel/uploadapi"
	"github.com/satchel-project/satchel/uploaderpage"
	"github.com/satchel-project/satchel/variantcache"
	"github.com/satchel-project/satchel/webhook"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config is everything a Satchel node can be told.
type Config struct {
	DataDir string
	// DatabaseURL selects PostgreSQL ("postgres://…"); empty keeps SQLite in DataDir.
	DatabaseURL string
	// StorageURL selects an S3-compatible store ("s3://bucket?endpoint=…");
	// empty keeps files on local disk in DataDir.
	StorageURL        string
	PublicURL         string
	FetchAllowPrivate bool
	MaxFileSize       int64
	MaxDirectUpload   int64
	TemporaryTTL      time.Duration
	SessionTTL        time.Duration
	SweepEvery        time.Duration
	// Retention is how long webhook events and finished deliveries are
	// kept (default 30 days).
	Retention time.Duration
	// JobRescueAfter is how long a job may go without finishing (or a long
	// job without a heartbeat) before another node retries it, presuming
	// its node dead (default jobs.DefaultRescueAfter).
	JobRescueAfter time.Duration
	RateLimit      float64
	RateBurst      int
	FetchWorkers   int
	FetchMaxBytes  int64
	FetchTimeout   time.Duration
	// FetchPerProject and WebhookPerProject cap the from-URL downloads and
	// webhook deliveries one project has running across all nodes (default 2
	// each), so that its slow sources or dead receivers leave workers to the
	// other projects.
	FetchPerProject   int
	WebhookPerProject int
	// WebhookTimeout bounds one webhook delivery attempt (default 10 s).
	WebhookTimeout time.Duration
	// Addons sets up the add-ons (virus scan, Rekognition, remove.bg, custom).
	Addons addons.Config
	// SimpleAuthOverHTTP is "loopback" (default), "always" or "never".
	SimpleAuthOverHTTP string
	// TrustedProxies may tell the original scheme with X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// FetchDeny lists networks outbound requests never reach, even with FetchAllowPrivate.
	FetchDeny []netip.Prefix
	// Image transforms: source pixel cap, concurrent transforms, waiting
	// transforms before 429, time limit, and the local variant cache size.
	MaxImagePixels   int64
	ImageWorkers     int
	ImageQueue       int
	ImageTimeout     time.Duration
	VariantCacheSize int64
	// FaceCascade is the OpenCV 4 Haar cascade XML file of the face
	// detector (imaging.DefaultFaceCascade from the command line). Empty,
	// or a file that is not there (logged), leaves face detection off:
	// detect_faces answers 501 and blur_region/faces 400.
	FaceCascade string
	// CDNMetaCacheSize bounds the CDN's in-memory file and project metadata
	// caches, in entries (0: cdn.DefaultMetaCacheSize).
	CDNMetaCacheSize int
	// CDNHotCacheBytes bounds the CDN's cache of whole answers in memory
	// (0: cdn.DefaultHotCacheBytes; negative: off).
	CDNHotCacheBytes int64
	// CDNOpenFiles bounds the descriptors of large local originals the CDN
	// keeps open between requests (0: cdn.DefaultOpenFiles; negative: off).
	CDNOpenFiles int
	// Request bodies must keep arriving: every BodyIdleTimeout must bring
	// at least BodyMinRate bytes/s on average (at least one byte when the
	// rate is 0); slower bodies are cut with 408. A zero timeout disables this.
	BodyMinRate     int64
	BodyIdleTimeout time.Duration
	// MaxConcurrentUploads and MaxProjectUploads cap the uploads in progress,
	// on the node (503 beyond) and per project (429 beyond); 0 is unlimited.
	MaxConcurrentUploads int
	MaxProjectUploads    int
	// Conversion: concurrent document and video conversions per node
	// (default 2 and 1), their time limits, the input caps (bytes, pages,
	// video duration and resolution) and whether conversion is off.
	DocumentWorkers  int
	DocumentTimeout  time.Duration
	DocumentMaxPages int
	DocumentMaxSize  int64
	VideoWorkers     int
	VideoTimeout     time.Duration
	VideoMaxDuration time.Duration
	VideoMaxWidth    int
	VideoMaxHeight   int
	VideoMaxSize     int64
	// Gif2Video limits: the largest GIF the CDN's gif2video converts, its
	// most frames and most pixels of all frames (0: the cdn defaults).
	Gif2VideoMaxSize   int64
	Gif2VideoMaxFrames int
	Gif2VideoMaxPixels int64
	// Image output limits: the longest side an operation may grow an image
	// to and the largest result in pixels; image workers kept for cheap
	// transforms (negative: none) and the estimated cost, in pixels, up to
	// which a transform is cheap. Zero takes the imaging defaults.
	ImageMaxSide         int
	ImageMaxOutputPixels int64
	ImageCheapWorkers    int
	ImageCheapPixels     int64
	// ListenURL is the base of links in webhook payloads when PublicURL is empty.
	ListenURL string
	// DemoPublicKey and DemoSecretKey are the keys of the demo project created
	// on first start (random when empty).
	DemoPublicKey string
	DemoSecretKey string
	Log           *slog.Logger
	// AccessLog says which requests get an access log line: AccessLogAll
	// (default, also for ""), AccessLogErrors or AccessLogOff.
	AccessLog string
	// AccessLogger writes the access log lines (nil: Log). cmd/satchel gives
	// one that batches its writes (internal/logbuf).
	AccessLogger *slog.Logger
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// MetricsElsewhere keeps /metrics off the main handler (served on its own
	// listener through MetricsHandler).
	MetricsElsewhere bool
	// AdminToken, when set, signs an administrator in to the dashboard.
	AdminToken string
	// NoUploaderPage turns off the upload page at "/" and the embeddable
	// uploader under /uploader/.
	NoUploaderPage bool
}

// DefaultVariantCacheSize is the local variant cache's size in bytes when
// Config.VariantCacheSize is zero.
const DefaultVariantCacheSize = 1 << 30

// Server is a running Satchel node (without its listener).
type Server struct {
	App    *app.App
	Store  satchel.Store
	Bucket blobstore.Bucket
	// Jobs is the node's River client: from-URL fetches, webhook
	// deliveries, blob removal and the periodic lifecycle jobs.
	Jobs *jobs.Client
	// Demo is the demo project when this start created it.
	Demo *satchel.Project
	// Metrics are this node's Prometheus metrics.
	Metrics *metrics.Metrics
	handler http.Handler
	metrics http.Handler
	marker  string
	log     *slog.Logger
	// inflight counts the requests being handled; Close waits for them.
	inflight inflight
	// unclean is set when a drain was cut short: the marker stays, so the
	// next start recovers.
	unclean atomic.Bool

	closeStore func() error
	ping       func(context.Context) error
	draining   atomic.Bool
	variants   *variantcache.Cache
	// tracing exports spans (nil: off); Close flushes it.
	tracing *sdktrace.TracerProvider
}

// OpenStore opens the metadata store: PostgreSQL when databaseURL is set,
// else the embedded SQLite database in dataDir.
func OpenStore(ctx context.Context, dataDir, databaseURL string) (*sqlstore.DB, error) {
	if databaseURL != "" {
		return sqlstore.OpenPostgres(ctx, databaseURL)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "satchel.db"))
}

// OpenBucket opens the blob store: S3 when storageURL is set, else local disk in dataDir.
func OpenBucket(ctx context.Context, dataDir, storageURL string) (blobstore.Bucket, error) {
	if storageURL != "" {
		return blobstore.OpenS3(ctx, storageURL)
	}
	return blobstore.OpenDisk(filepath.Join(dataDir, "files"))
}

// New opens storage, recovers from an unclean stop, creates the demo project
// on first start and starts background work.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(reqctx.LogHandler(log.Handler()))
	m := metrics.New()
	tp, err := newTracing(ctx)
	if err != nil {
		return nil, err
	}
	if tp != nil {
		defer func() {
			if err != nil {
				tp.Shutdown(context.WithoutCancel(ctx))
			}
		}()
	}
	var tracer trace.TracerProvider // nil: tracing off
	if tp != nil {
		tracer = tp
	}
	rawStore, err := OpenStore(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	var store satchel.Store = newObservedStore(rawStore, m)
	bucket, err := OpenBucket(ctx, cfg.DataDir, cfg.StorageURL)
	if err != nil {
		store.Close()
		return nil, err
	}
	bucket = newObservedBucket(bucket, m)
	// Short-lived local copies live in tmp/, emptied at every start.
	tmpDir := filepath.Join(cfg.DataDir, "tmp")
	if err := os.RemoveAll(tmpDir); err != nil {
		store.Close()
		return nil, fmt.Errorf("clean tmp: %w", err)
	}
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		store.Close()
		return nil, fmt.Errorf("create tmp: %w", err)
	}
	// Webhook deliveries go through the same SSRF-safe dialer as fetches.
	// The worker's own deadline (WebhookTimeout) cuts attempts short first.
	hookClient := fetch.New(fetch.Options{AllowPrivate: cfg.FetchAllowPrivate, Timeout: max(30*time.Second, cfg.WebhookTimeout+5*time.Second), UserAgent: webhook.UserAgent, Deny: cfg.FetchDeny}).HTTPClient()
	base := strings.TrimRight(cfg.PublicURL, "/")
	if base == "" {
		base = cfg.ListenURL
	}
	worker := webhook.NewWorker(store, rawStore.JobsDB(), hookClient, apiview.Bases{CDN: base, API: base}, log, webhook.WorkerOptions{PerProject: cfg.WebhookPerProject, Timeout: cfg.WebhookTimeout})
	fc := fetch.New(fetch.Options{AllowPrivate: cfg.FetchAllowPrivate, MaxBytes: cfg.FetchMaxBytes, Timeout: cfg.FetchTimeout, UserAgent: "Satchel", Deny: cfg.FetchDeny})
	a, err := app.New(ctx, store, bucket, inspect.New(inspect.Options{}), fc, log, app.Config{
		MaxFileSize: cfg.MaxFileSize, TemporaryTTL: cfg.TemporaryTTL, SessionTTL: cfg.SessionTTL,
		FetchWorkers: cfg.FetchWorkers, FetchPerProject: cfg.FetchPerProject, RateLimit: cfg.RateLimit, Burst: cfg.RateBurst, SweepEvery: cfg.SweepEvery,
		Retention: cfg.Retention, TempDir: tmpDir, MaxDocumentSize: cfg.DocumentMaxSize, MaxVideoSize: cfg.VideoMaxSize,
		MaxConcurrentUploads: cfg.MaxConcurrentUploads, MaxProjectUploads: cfg.MaxProjectUploads,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	a.Jobs = rawStore.JobsDB()
	a.CDNBase = base
	if a.Addons, err = addons.New(ctx, cfg.Addons); err != nil {
		store.Close()
		return nil, err
	}
	if cfg.DocumentWorkers <= 0 {
		cfg.DocumentWorkers = 2
	}
	if cfg.VideoWorkers <= 0 {
		cfg.VideoWorkers = 1
	}
	a.Documents = convert.NewDocuments(convert.DocumentOptions{
		Workers: cfg.DocumentWorkers, Timeout: cfg.DocumentTimeout, MaxPages: cfg.DocumentMaxPages,
		Dir: filepath.Join(cfg.DataDir, "converter"), Log: log,
	})
	a.Video = convert.NewVideo(convert.VideoOptions{Timeout: cfg.VideoTimeout, MaxDuration: cfg.VideoMaxDuration, MaxWidth: cfg.VideoMaxWidth, MaxHeight: cfg.VideoMaxHeight})
	workers := river.NewWorkers()
	a.AddWorkers(workers)
	river.AddWorker(workers, worker)
	jc, err := jobs.New(ctx, jobs.Config{
		DB: rawStore.JobsDB(), Workers: workers, Periodic: a.PeriodicJobs(), Log: log,
		Queues: map[string]int{
			jobs.QueueFetch: a.Config().FetchWorkers, jobs.QueueWebhook: worker.Options().Concurrency, jobs.QueueMaintenance: 4, jobs.QueueAddon: 4,
			convert.QueueDocument: cfg.DocumentWorkers, convert.QueueVideo: cfg.VideoWorkers,
		},
		RescueAfter: cfg.JobRescueAfter, OnCancel: a.Halt, Tracer: tracer,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	m.JobQueue(jc.Depth)
	s := &Server{App: a, Store: store, Bucket: bucket, Jobs: jc, log: log, tracing: tp, marker: filepath.Join(cfg.DataDir, "running"), closeStore: rawStore.Close,
		Metrics: m, metrics: m.Handler(cfg.MetricsToken), ping: rawStore.Ping}
	if s.Demo, err = ensureDemoProject(ctx, store, cfg); err != nil {
		store.Close()
		return nil, err
	}
	if err := s.recover(ctx); err != nil {
		jc.Close()
		store.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	if !cfg.MetricsElsewhere {
		mux.Handle("GET /metrics", s.metrics)
	}
	uploads := uploadapi.New(a, uploadapi.Config{
		PublicURL: cfg.PublicURL, MaxDirectUpload: cfg.MaxDirectUpload, TrustedProxies: cfg.TrustedProxies,
	}, log)
	uploads.Register(mux)
	m.Gauge("satchel_uploads_in_progress", "Direct uploads and multipart part writes being received by this node.",
		func() float64 { return float64(uploads.InProgress()) })
	restapi.New(a, restapi.Config{PublicURL: cfg.PublicURL, SimpleAuthOverHTTP: cfg.SimpleAuthOverHTTP, TrustedProxies: cfg.TrustedProxies}, log).Register(mux)
	dialect := jsonapi.New(a, jsonapi.Config{PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies}, log)
	dialect.Register(mux)
	a.SettleFetches = dialect.SettleFetches
	faces, err := loadFaces(cfg.FaceCascade, log)
	if err != nil {
		s.Close()
		return nil, err
	}
	engine, err := imaging.New(imaging.Options{MaxPixels: cfg.MaxImagePixels, Workers: cfg.ImageWorkers, QueueSize: cfg.ImageQueue, Timeout: cfg.ImageTimeout,
		MaxOutputSide: cfg.ImageMaxSide, MaxOutputPixels: cfg.ImageMaxOutputPixels, CheapWorkers: cfg.ImageCheapWorkers, CheapCost: cfg.ImageCheapPixels,
		Faces: faces})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("imaging: %w", err)
	}
	if cfg.VariantCacheSize == 0 {
		cfg.VariantCacheSize = DefaultVariantCacheSize
	}
	variants, err := variantcache.Open(filepath.Join(cfg.DataDir, "variants"), cfg.VariantCacheSize)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.variants = variants
	cdnHandler := &cdn.Handler{Store: store, Bucket: bucket, Log: log, Engine: engine, Variants: variants, MetaCacheSize: cfg.CDNMetaCacheSize,
		HotCacheBytes: cfg.CDNHotCacheBytes, OpenFiles: cfg.CDNOpenFiles, Metrics: m, Gif2Video: &cdn.Gif2Video{Video: a.Video, TempDir: tmpDir, MaxSize: cfg.Gif2VideoMaxSize,
			Limits: convert.GIFLimits{MaxFrames: cfg.Gif2VideoMaxFrames, MaxPixels: cfg.Gif2VideoMaxPixels}}}
	m.Gauge("satchel_cdn_hot_cache_bytes", "Bytes of whole CDN answers kept in memory (bodies plus a fixed overhead each).",
		func() float64 { _, b := cdnHandler.HotCacheLen(); return float64(b) })
	m.Gauge("satchel_cdn_open_files", "Descriptors of large local originals the CDN keeps open between requests.",
		func() float64 { _, n := cdnHandler.OpenFilesLen(); return float64(n) })
	m.Gauge("satchel_variant_cache_bytes", "Bytes of variants kept in the local variant cache.", func() float64 { return float64(variants.Bytes()) })
	m.CounterFunc("satchel_variant_cache_evictions_total", "Variants removed from the local variant cache to keep it under its size.",
		func() float64 { return float64(variants.Evictions()) })
	if !blobstore.IsExclusive(bucket) {
		// Nodes share a bucket: keep variants there too, so one node's work serves all.
		cdnHandler.Shared = &cdn.SharedVariants{Store: store, Bucket: bucket}
		variants.Shared = cdnHandler.Shared
		variants.Live = cdnHandler.Shared.Live // deletes through other nodes
	}
	cdnHandler.FileToken = dialect.FileToken
	a.Purge = cdnHandler.Purge
	if cdnHandler.Shared != nil {
		a.PurgeVariants = cdnHandler.Shared.Purge
	}
	a.Transform = cdnHandler.Render
	if !cfg.NoUploaderPage {
		uploaderpage.New(uploaderpage.Config{PublicURL: cfg.PublicURL}).Register(mux)
	}
	mux.Handle("GET /", cdnHandler)
	dashboard.New(a, dashboard.Config{AdminToken: cfg.AdminToken, PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies}, log).Register(mux)
	legacy := http.NewServeMux() // the oldest REST dialect, told apart by its Authentication header
	legacyapi.New(a, legacyapi.Config{PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies}, log).Register(legacy)
	access := cfg.AccessLogger
	if access == nil {
		access = log
	}
	s.handler = s.inflight.track(guardBodies(cleanPath(traced(legacyapi.Dispatch(observe(legacy, m, access, cfg.AccessLog), observe(mux, m, access, cfg.AccessLog)), tracer)), bodyLimits{MinRate: cfg.BodyMinRate, Idle: cfg.BodyIdleTimeout}))
	// Jobs queued before this start (by this node or one that died) run now,
	// once every service they call is wired.
	if err := jc.Start(context.WithoutCancel(ctx)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// recover runs the recovery an unclean stop calls for. A marker file holds the
// start time of the running process; finding it at start means the previous
// process did not stop cleanly.
func (s *Server) recover(ctx context.Context) error {
	since := time.Time{}
	if b, err := os.ReadFile(s.marker); err == nil {
		since = time.Unix(1, 0)
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			since = time.Unix(n, 0).Add(-time.Minute)
		}
	}
	if err := s.App.Recover(ctx, since); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if err := os.WriteFile(s.marker, []byte(strconv.FormatInt(time.Now().Unix(), 10)), 0o640); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

// Handler serves every surface.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves /metrics (behind the bearer token when one is set).
func (s *Server) MetricsHandler() http.Handler { return s.metrics }

// Drain waits until no request is being handled, or ctx ends. Call it once
// the listener stops accepting. When ctx ends first the stop is unclean:
// Close keeps the marker, and the next start recovers what the requests cut
// short left behind.
//
// Drain then stops the jobs: workers take no more, and the running ones
// finish until ctx ends; those still running then are cancelled and
// released for another node (or the next start) to run again.
func (s *Server) Drain(ctx context.Context) error {
	err := s.inflight.wait(ctx)
	if err != nil {
		s.unclean.Store(true)
	}
	if jerr := s.Jobs.Stop(ctx); jerr != nil {
		s.log.Warn("stop jobs", "err", jerr)
	}
	return err
}

// Close waits for the last request being handled, stops background work and
// closes storage. It marks the stop clean unless a Drain was cut short.
func (s *Server) Close() error {
	s.inflight.wait(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := s.Jobs.Stop(ctx); err != nil {
		s.log.Warn("stop jobs", "err", err)
	}
	cancel()
	s.Jobs.Close()
	s.App.Halt()
	if s.variants != nil {
		s.variants.Close() // pending saves to the shared bucket use the store
	}
	err := s.closeStore()
	if s.tracing != nil {
		tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if terr := s.tracing.Shutdown(tctx); terr != nil {
			s.log.Warn("flush traces", "err", terr)
		}
		cancel()
	}
	if err == nil && !s.unclean.Load() {
		os.Remove(s.marker)
	}
	return err
}

// inflight counts requests in progress. A request costs two atomic
// additions; the mutex is taken only when the count drops to zero.
type inflight struct {
	n    atomic.Int64
	mu   sync.Mutex
	idle chan struct{} // made by a waiter, closed when n drops to 0
}

func (f *inflight) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		defer f.done()
		h.ServeHTTP(w, r)
	})
}

// done ends a request, waking the waiters when it was the last.
func (f *inflight) done() {
	if f.n.Add(-1) != 0 {
		return
	}
	f.mu.Lock()
	if f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
	f.mu.Unlock()
}

// wait returns once no request is in progress, or with ctx's error.
func (f *inflight) wait(ctx context.Context) error {
	for {
		// Under mu, a request ending after the check finds the channel.
		f.mu.Lock()
		if f.n.Load() == 0 {
			f.mu.Unlock()
			return nil
		}
		if f.idle == nil {
			f.idle = make(chan struct{})
		}
		idle := f.idle
		f.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// cleanPath collapses repeated slashes (pyuploadcare posts to /group//)
// before routing, so the mux does not answer with a redirect.
func cleanPath(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			p := r.URL.Path
			for strings.Contains(p, "//") {
				p = strings.ReplaceAll(p, "//", "/")
			}
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		h.ServeHTTP(w, r)
	})
}

// RandomKey returns a new random API key.
func RandomKey() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// ensureDemoProject creates the demo project when there is no project yet.
func ensureDemoProject(ctx context.Context, store satchel.Store, cfg Config) (*satchel.Project, error) {
	ps, err := store.Projects(ctx)
	if err != nil {
		return nil, err
	}
	if len(ps) > 0 {
		return nil, nil
	}
	// Nodes starting together on an empty database: the first to record the
	// claim creates the demo project.
	claim := RandomKey()
	if won, err := store.SetSettingIfAbsent(ctx, "demo_project_claim", claim); err != nil || won != claim {
		return nil, err
	}
	p := &satchel.Project{Name: "demo", PublicKey: cfg.DemoPublicKey, SecretKey: cfg.DemoSecretKey, Autostore: true}
	if p.PublicKey == "" {
		p.PublicKey = RandomKey()
	}
	if p.SecretKey == "" {
		p.SecretKey = RandomKey()
	}
	if err := store.CreateProject(ctx, p); err != nil {
		return nil, fmt.Errorf("create demo project: %w", err)
	}
	return p, nil
}

// loadFaces reads the face cascade at path: nil (face detection off) when
// path is empty or the file is not there, an error when it is there but
// cannot be used.
func loadFaces(path string, log *slog.Logger) (*haar.Cascade, error) {
	if path == "" {
		log.Info("face detection off: no face cascade configured")
		return nil, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		log.Warn("face detection off: face cascade not found (Debian's opencv-data package installs it; see --face-cascade)", "path", path)
		return nil, nil
	}
	c, err := imaging.LoadFaces(path)
	if err != nil {
		return nil, fmt.Errorf("face cascade: %w", err)
	}
	return c, nil
}
