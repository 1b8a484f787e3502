package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// env returns the value of an environment variable or a default.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return def
	}
	return b
}

func envInt(name string, def int64) int64 {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return def
	}
	return n
}

func envFloat(name string, def float64) float64 {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return def
	}
	return n
}

func envDuration(name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return def
	}
	return d
}

// serveConfig is everything `satchel serve` can be told; each flag has an
// environment variable that sets its default.
type serveConfig struct {
	Addr              string
	DataDir           string
	DatabaseURL       string
	StorageURL        string
	PublicURL         string
	FetchAllowPrivate bool
	MaxFileSize       int64
	MaxDirectUpload   int64
	TemporaryTTL      time.Duration
	SessionTTL        time.Duration
	RateLimit         float64
	FetchWorkers      int64
	FetchMaxBytes     int64
	FetchTimeout      time.Duration
	FetchPerProject   int64
	WebhookPerProject int64
	WebhookTimeout    time.Duration
	FetchDeny         []netip.Prefix
	SimpleAuth        string
	TrustedProxies    []netip.Prefix
	DemoPublicKey     string
	DemoSecretKey     string
	LogLevel          string
	MaxImagePixels    int64
	ImageWorkers      int64
	ImageQueue        int64
	ImageTimeout      time.Duration
	VariantCacheSize  int64
	CDNMetaCache      int64
	BodyMinRate       int64
	BodyIdleTimeout   time.Duration
	MaxUploads        int64
	MaxProjectUploads int64
	ShutdownTimeout   time.Duration
	MetricsAddr       string
	MetricsToken      string
	UploaderPage      bool
}

func parseServe(args []string) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", env("SATCHEL_ADDR", "127.0.0.1:8080"), "listen address (SATCHEL_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("SATCHEL_DATA_DIR", "./satchel-data"), "where the database and files live (SATCHEL_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("SATCHEL_DATABASE_URL", ""), "PostgreSQL DSN; empty keeps SQLite in the data dir (SATCHEL_DATABASE_URL)")
	fs.StringVar(&c.StorageURL, "storage-url", env("SATCHEL_STORAGE_URL", ""), "S3-compatible store, s3://bucket?endpoint=…&region=…; credentials from AWS_* variables; empty keeps files on disk (SATCHEL_STORAGE_URL)")
	fs.StringVar(&c.PublicURL, "public-url", env("SATCHEL_PUBLIC_URL", ""), "absolute base URL used in links; derived from each request when empty (SATCHEL_PUBLIC_URL)")
	fs.BoolVar(&c.FetchAllowPrivate, "fetch-allow-private", envBool("SATCHEL_FETCH_ALLOW_PRIVATE", false), "let outbound requests reach loopback and private addresses (SATCHEL_FETCH_ALLOW_PRIVATE)")
	fs.Int64Var(&c.MaxFileSize, "max-file-size", envInt("SATCHEL_MAX_FILE_SIZE", 50<<30), "largest file in bytes (SATCHEL_MAX_FILE_SIZE)")
	fs.Int64Var(&c.MaxDirectUpload, "max-direct-upload", envInt("SATCHEL_MAX_DIRECT_UPLOAD", 100*1000*1000), "largest /base/ upload in bytes (SATCHEL_MAX_DIRECT_UPLOAD)")
	fs.DurationVar(&c.TemporaryTTL, "temporary-ttl", envDuration("SATCHEL_TEMPORARY_TTL", 24*time.Hour), "lifetime of unstored files (SATCHEL_TEMPORARY_TTL)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", envDuration("SATCHEL_SESSION_TTL", 24*time.Hour), "lifetime of incomplete multipart uploads (SATCHEL_SESSION_TTL)")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat("SATCHEL_RATE_LIMIT", 2000), "requests per second per project, 0 for none (SATCHEL_RATE_LIMIT)")
	fs.Int64Var(&c.FetchWorkers, "fetch-workers", envInt("SATCHEL_FETCH_WORKERS", 16), "concurrent from-URL downloads (SATCHEL_FETCH_WORKERS)")
	fs.Int64Var(&c.FetchMaxBytes, "fetch-max-bytes", envInt("SATCHEL_FETCH_MAX_BYTES", 5<<30), "largest from-URL download (SATCHEL_FETCH_MAX_BYTES)")
	fs.DurationVar(&c.FetchTimeout, "fetch-timeout", envDuration("SATCHEL_FETCH_TIMEOUT", 10*time.Minute), "time limit of one from-URL download (SATCHEL_FETCH_TIMEOUT)")
	fs.Int64Var(&c.FetchPerProject, "fetch-per-project", envInt("SATCHEL_FETCH_PER_PROJECT", 2), "from-URL downloads one project may have running, across all nodes (SATCHEL_FETCH_PER_PROJECT)")
	fs.Int64Var(&c.WebhookPerProject, "webhook-per-project", envInt("SATCHEL_WEBHOOK_PER_PROJECT", 2), "webhook deliveries one project may have in flight, across all nodes (SATCHEL_WEBHOOK_PER_PROJECT)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", envDuration("SATCHEL_WEBHOOK_TIMEOUT", 10*time.Second), "time limit of one webhook delivery attempt (SATCHEL_WEBHOOK_TIMEOUT)")
	deny := fs.String("fetch-deny", env("SATCHEL_FETCH_DENY", ""), "comma-separated networks (CIDR) outbound requests never reach, even with --fetch-allow-private (SATCHEL_FETCH_DENY)")
	fs.StringVar(&c.SimpleAuth, "simple-auth-over-http", env("SATCHEL_SIMPLE_AUTH_OVER_HTTP", "loopback"), "who may use Uploadcare.Simple REST auth without TLS: loopback, always or never (SATCHEL_SIMPLE_AUTH_OVER_HTTP)")
	proxies := fs.String("trusted-proxies", env("SATCHEL_TRUSTED_PROXIES", ""), "comma-separated networks (CIDR) whose X-Forwarded-Proto is believed (SATCHEL_TRUSTED_PROXIES)")
	fs.Int64Var(&c.MaxImagePixels, "max-image-pixels", envInt("SATCHEL_MAX_IMAGE_PIXELS", 100_000_000), "largest source image to transform, in pixels (SATCHEL_MAX_IMAGE_PIXELS)")
	fs.Int64Var(&c.ImageWorkers, "image-workers", envInt("SATCHEL_IMAGE_WORKERS", 0), "concurrent image transforms, 0 = one per core (SATCHEL_IMAGE_WORKERS)")
	fs.Int64Var(&c.ImageQueue, "image-queue", envInt("SATCHEL_IMAGE_QUEUE", 64), "transforms that may wait before answering 429 (SATCHEL_IMAGE_QUEUE)")
	fs.DurationVar(&c.ImageTimeout, "image-timeout", envDuration("SATCHEL_IMAGE_TIMEOUT", 30*time.Second), "time limit of one transform (SATCHEL_IMAGE_TIMEOUT)")
	fs.Int64Var(&c.VariantCacheSize, "variant-cache-size", envInt("SATCHEL_VARIANT_CACHE_SIZE", 1<<30), "bytes of transformed images kept on local disk (SATCHEL_VARIANT_CACHE_SIZE)")
	fs.Int64Var(&c.CDNMetaCache, "cdn-meta-cache", envInt("SATCHEL_CDN_META_CACHE", 10000), "files (and projects) whose metadata the CDN keeps in memory, for 2 seconds each (SATCHEL_CDN_META_CACHE)")
	fs.Int64Var(&c.BodyMinRate, "body-min-rate", envInt("SATCHEL_BODY_MIN_RATE", 1024), "slowest request body in bytes/s, averaged over each --body-idle-timeout; 0 = any rate (SATCHEL_BODY_MIN_RATE)")
	fs.DurationVar(&c.BodyIdleTimeout, "body-idle-timeout", envDuration("SATCHEL_BODY_IDLE_TIMEOUT", 30*time.Second), "longest wait for request body bytes, and the window of --body-min-rate; 0 = none (SATCHEL_BODY_IDLE_TIMEOUT)")
	fs.Int64Var(&c.MaxUploads, "max-concurrent-uploads", envInt("SATCHEL_MAX_CONCURRENT_UPLOADS", 256), "uploads in progress on this node before answering 503; 0 = unlimited (SATCHEL_MAX_CONCURRENT_UPLOADS)")
	fs.Int64Var(&c.MaxProjectUploads, "max-project-uploads", envInt("SATCHEL_MAX_PROJECT_UPLOADS", 64), "uploads in progress per project on this node before answering 429; 0 = unlimited (SATCHEL_MAX_PROJECT_UPLOADS)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDuration("SATCHEL_SHUTDOWN_TIMEOUT", 30*time.Second), "how long a stop waits for requests in progress before cutting them (SATCHEL_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("SATCHEL_METRICS_ADDR", ""), "serve /metrics on this address instead of the main one (SATCHEL_METRICS_ADDR)")
	fs.BoolVar(&c.UploaderPage, "uploader-page", envBool("SATCHEL_UPLOADER_PAGE", true), "serve the upload page at / and the embeddable uploader under /uploader/ (SATCHEL_UPLOADER_PAGE)")
	fs.StringVar(&c.LogLevel, "log-level", env("SATCHEL_LOG_LEVEL", "info"), "debug, info, warn or error (SATCHEL_LOG_LEVEL)")
	c.DemoPublicKey = env("SATCHEL_DEMO_PUBLIC_KEY", "")
	c.DemoSecretKey = env("SATCHEL_DEMO_SECRET_KEY", "")
	c.MetricsToken = env("SATCHEL_METRICS_TOKEN", "")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	var err error
	if c.FetchDeny, err = parsePrefixes(*deny); err != nil {
		return nil, fmt.Errorf("--fetch-deny: %w", err)
	}
	if c.TrustedProxies, err = parsePrefixes(*proxies); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.FetchPerProject < 1 {
		return nil, fmt.Errorf("--fetch-per-project: want at least 1")
	}
	if c.WebhookPerProject < 1 {
		return nil, fmt.Errorf("--webhook-per-project: want at least 1")
	}
	if c.WebhookTimeout <= 0 {
		return nil, fmt.Errorf("--webhook-timeout: want a positive duration")
	}
	switch c.SimpleAuth {
	case "loopback", "always", "never":
	default:
		return nil, fmt.Errorf("--simple-auth-over-http: want loopback, always or never")
	}
	if c.BodyMinRate < 0 || c.BodyIdleTimeout < 0 || c.MaxUploads < 0 || c.MaxProjectUploads < 0 || c.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("--body-min-rate, --body-idle-timeout, --max-concurrent-uploads, --max-project-uploads and --shutdown-timeout must not be negative")
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, nil
}

// parsePrefixes reads a comma-separated list of CIDR networks.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, err
		}
		out = append(out, pfx)
	}
	return out, nil
}
