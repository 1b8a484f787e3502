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
	ImageMaxSide      int64
	ImageMaxOutput    int64
	ImageCheapWorkers int64
	ImageCheapPixels  int64
	VariantCacheSize  int64
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
	fs.Int64Var(&c.FetchWorkers, "fetch-workers", envInt("SATCHEL_FETCH_WORKERS", 4), "concurrent from-URL downloads (SATCHEL_FETCH_WORKERS)")
	fs.Int64Var(&c.FetchMaxBytes, "fetch-max-bytes", envInt("SATCHEL_FETCH_MAX_BYTES", 5<<30), "largest from-URL download (SATCHEL_FETCH_MAX_BYTES)")
	fs.DurationVar(&c.FetchTimeout, "fetch-timeout", envDuration("SATCHEL_FETCH_TIMEOUT", 10*time.Minute), "time limit of one from-URL download (SATCHEL_FETCH_TIMEOUT)")
	deny := fs.String("fetch-deny", env("SATCHEL_FETCH_DENY", ""), "comma-separated networks (CIDR) outbound requests never reach, even with --fetch-allow-private (SATCHEL_FETCH_DENY)")
	fs.StringVar(&c.SimpleAuth, "simple-auth-over-http", env("SATCHEL_SIMPLE_AUTH_OVER_HTTP", "loopback"), "who may use Uploadcare.Simple REST auth without TLS: loopback, always or never (SATCHEL_SIMPLE_AUTH_OVER_HTTP)")
	proxies := fs.String("trusted-proxies", env("SATCHEL_TRUSTED_PROXIES", ""), "comma-separated networks (CIDR) whose X-Forwarded-Proto is believed (SATCHEL_TRUSTED_PROXIES)")
	fs.Int64Var(&c.MaxImagePixels, "max-image-pixels", envInt("SATCHEL_MAX_IMAGE_PIXELS", 100_000_000), "largest source image to transform, in pixels (SATCHEL_MAX_IMAGE_PIXELS)")
	fs.Int64Var(&c.ImageWorkers, "image-workers", envInt("SATCHEL_IMAGE_WORKERS", 0), "concurrent image transforms, 0 = one per core (SATCHEL_IMAGE_WORKERS)")
	fs.Int64Var(&c.ImageQueue, "image-queue", envInt("SATCHEL_IMAGE_QUEUE", 64), "transforms that may wait before answering 429 (SATCHEL_IMAGE_QUEUE)")
	fs.DurationVar(&c.ImageTimeout, "image-timeout", envDuration("SATCHEL_IMAGE_TIMEOUT", 30*time.Second), "time limit of one transform (SATCHEL_IMAGE_TIMEOUT)")
	fs.Int64Var(&c.ImageMaxSide, "image-max-side", envInt("SATCHEL_IMAGE_MAX_SIDE", 5000), "longest side, in pixels, an image operation may make an image grow to (SATCHEL_IMAGE_MAX_SIDE)")
	fs.Int64Var(&c.ImageMaxOutput, "image-max-output-pixels", envInt("SATCHEL_IMAGE_MAX_OUTPUT_PIXELS", 25_000_000), "largest image, in pixels, operations may produce (SATCHEL_IMAGE_MAX_OUTPUT_PIXELS)")
	fs.Int64Var(&c.ImageCheapWorkers, "image-cheap-workers", envInt("SATCHEL_IMAGE_CHEAP_WORKERS", 1), "image workers kept for cheap transforms, 0 = none (SATCHEL_IMAGE_CHEAP_WORKERS)")
	fs.Int64Var(&c.ImageCheapPixels, "image-cheap-pixels", envInt("SATCHEL_IMAGE_CHEAP_PIXELS", 4_000_000), "estimated pixels processed up to which a transform is cheap (SATCHEL_IMAGE_CHEAP_PIXELS)")
	fs.Int64Var(&c.VariantCacheSize, "variant-cache-size", envInt("SATCHEL_VARIANT_CACHE_SIZE", 1<<30), "bytes of transformed images kept on local disk (SATCHEL_VARIANT_CACHE_SIZE)")
	fs.StringVar(&c.LogLevel, "log-level", env("SATCHEL_LOG_LEVEL", "info"), "debug, info, warn or error (SATCHEL_LOG_LEVEL)")
	c.DemoPublicKey = env("SATCHEL_DEMO_PUBLIC_KEY", "")
	c.DemoSecretKey = env("SATCHEL_DEMO_SECRET_KEY", "")
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
	switch c.SimpleAuth {
	case "loopback", "always", "never":
	default:
		return nil, fmt.Errorf("--simple-auth-over-http: want loopback, always or never")
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
