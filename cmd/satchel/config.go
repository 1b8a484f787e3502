package main

import (
	"errors"
	"github.com/satchel-project/satchel/addons"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/restapi"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/uploadapi"
	"github.com/satchel-project/satchel/webhook"
)

// storeConfig says where the metadata lives; every command that opens the
// store takes it.
type storeConfig struct {
	DataDir     string `name:"data-dir" env:"SATCHEL_DATA_DIR" default:"./satchel-data" nonzero:"" help:"SQLite database and files (only local temporaries when --database-url and --storage-url are set)"`
	DatabaseURL string `name:"database-url" env:"SATCHEL_DATABASE_URL" unset:"SQLite in the data dir" help:"PostgreSQL DSN (postgres://user:pass@host/db) shared by all nodes"`
}

// serveConfig is everything `satchel serve` can be told.
//
// To add a setting, add one field here: its tags (see settings.go) give the
// flag, the environment variable, the default, the checks and the help line,
// and the README's configuration table is generated from them (run
// `go generate ./cmd/satchel` to rewrite it; TestREADMEConfigTable fails until
// then). Then pass the value on in serverConfig. A default that a package
// also applies to a zero option is written once, as an exported constant of
// that package, and reaches the tag through packageDefaults.
//
// Sizes take units (Size), durations must carry one (time.Duration), numbers
// are never negative, and nonzero refuses the 0 that a package would
// otherwise silently replace with its default.
type serveConfig struct {
	Addr              string `name:"addr" env:"SATCHEL_ADDR" default:"127.0.0.1:8080" nonzero:"" help:"listen address (all surfaces on one port)"`
	storeConfig       `embed:""`
	StorageURL        string         `name:"storage-url" env:"SATCHEL_STORAGE_URL" unset:"local disk in the data dir" help:"S3-compatible store, s3://bucket?endpoint=http://host:9000&region=us-east-1&use_path_style=true[&prefix=p/]; credentials from AWS_* variables"`
	PublicURL         string         `name:"public-url" env:"SATCHEL_PUBLIC_URL" unset:"derived from each request" help:"absolute base used in part URLs, cdn_url and links"`
	FetchAllowPrivate bool           `name:"fetch-allow-private" env:"SATCHEL_FETCH_ALLOW_PRIVATE" help:"let from-URL uploads and webhooks reach loopback and private addresses"`
	FetchDeny         []netip.Prefix `name:"fetch-deny" env:"SATCHEL_FETCH_DENY" placeholder:"CIDR" help:"comma-separated networks (CIDR) that outbound requests never reach, even with --fetch-allow-private"`
	MaxFileSize       Size           `name:"max-file-size" env:"SATCHEL_MAX_FILE_SIZE" default:"${maxFileSize}" nonzero:"" help:"largest file (projects may set less)"`
	MaxDirectUpload   Size           `name:"max-direct-upload" env:"SATCHEL_MAX_DIRECT_UPLOAD" default:"${maxDirectUpload}" nonzero:"" help:"largest /base/ request (413 beyond)"`
	TemporaryTTL      time.Duration  `name:"temporary-ttl" env:"SATCHEL_TEMPORARY_TTL" default:"${temporaryTTL}" nonzero:"" help:"lifetime of files uploaded with UPLOADCARE_STORE=0"`
	SessionTTL        time.Duration  `name:"session-ttl" env:"SATCHEL_SESSION_TTL" default:"${sessionTTL}" nonzero:"" help:"lifetime of incomplete multipart uploads and their part URLs"`
	RateLimit         float64        `name:"rate-limit" env:"SATCHEL_RATE_LIMIT" default:"2000" help:"requests/s per project and node (429 and Retry-After beyond; 0 = off)"`
	SimpleAuth        string         `name:"simple-auth-over-http" env:"SATCHEL_SIMPLE_AUTH_OVER_HTTP" default:"${simpleAuth}" oneof:"loopback,always,never" help:"who may use REST Uploadcare.Simple auth without TLS"`
	TrustedProxies    []netip.Prefix `name:"trusted-proxies" env:"SATCHEL_TRUSTED_PROXIES" placeholder:"CIDR" help:"comma-separated networks (CIDR) whose X-Forwarded-Proto (and, for the dashboard's sign-in limit and anonymous JSON:API limits, X-Forwarded-For) is believed"`
	FetchWorkers      int64          `name:"fetch-workers" env:"SATCHEL_FETCH_WORKERS" default:"${fetchWorkers}" nonzero:"" help:"concurrent from-URL downloads"`
	FetchMaxBytes     Size           `name:"fetch-max-bytes" env:"SATCHEL_FETCH_MAX_BYTES" default:"5GiB" help:"largest from-URL download (0 = unlimited)"`
	FetchTimeout      time.Duration  `name:"fetch-timeout" env:"SATCHEL_FETCH_TIMEOUT" default:"${fetchTimeout}" nonzero:"" help:"time limit of one from-URL download"`
	CDNMetaCache      int64          `name:"cdn-meta-cache" env:"SATCHEL_CDN_META_CACHE" default:"${cdnMetaCache}" nonzero:"" help:"files (and projects) whose metadata each node's CDN keeps in memory, 2 s each; misses are not cached"`
	CDNHotCache       Size           `name:"cdn-hot-cache" env:"SATCHEL_CDN_HOT_CACHE" default:"${cdnHotCache}" help:"memory each node's CDN keeps for whole answers (body and headers) of the hottest variants and originals up to 1 MiB, served without a store query or disk access; 0 turns it off"`
	CDNOpenFiles      int64          `name:"cdn-open-files" env:"SATCHEL_CDN_OPEN_FILES" default:"${cdnOpenFiles}" help:"descriptors of local originals the hot cache does not keep (over 1 MiB, protected or signed) each node's CDN keeps open between requests, at most 8 per file (sent without an open, stat and close each); closed when the file is deleted, or found deleted on other nodes; 0 turns it off"`
	FetchPerProject   int64          `name:"fetch-per-project" env:"SATCHEL_FETCH_PER_PROJECT" default:"${fetchPerProject}" nonzero:"" help:"from-URL downloads one project may have running, counted across all nodes (slow sources of one project leave the other workers to other projects)"`
	WebhookPerProject int64          `name:"webhook-per-project" env:"SATCHEL_WEBHOOK_PER_PROJECT" default:"${webhookPerProject}" nonzero:"" help:"webhook deliveries one project may have in flight, counted across all nodes (of 16 per node)"`
	WebhookTimeout    time.Duration  `name:"webhook-timeout" env:"SATCHEL_WEBHOOK_TIMEOUT" default:"${webhookTimeout}" nonzero:"" help:"time limit of one webhook delivery attempt, response included; a timed-out attempt is retried with backoff"`
	Retention         time.Duration  `name:"retention" env:"SATCHEL_RETENTION" default:"720h" nonzero:"" help:"how long webhook events and finished deliveries are kept"`
	JobRescueAfter    time.Duration  `name:"job-rescue-after" env:"SATCHEL_JOB_RESCUE_AFTER" default:"20s" nonzero:"" help:"how long a background job may go without finishing or a heartbeat before another node retries it (at least 10s: long jobs beat every 4s)"`
	DocumentWorkers   int64          `name:"document-workers" env:"SATCHEL_DOCUMENT_WORKERS" default:"2" nonzero:"" help:"concurrent document conversions (LibreOffice processes) on this node"`
	DocumentTimeout   time.Duration  `name:"document-timeout" env:"SATCHEL_DOCUMENT_TIMEOUT" default:"2m" nonzero:"" help:"time limit of one LibreOffice run"`
	DocumentMaxPages  int64          `name:"document-max-pages" env:"SATCHEL_DOCUMENT_MAX_PAGES" default:"500" nonzero:"" help:"most pages of a document converted to PDF or images"`
	DocumentMaxSize   Size           `name:"document-max-size" env:"SATCHEL_DOCUMENT_MAX_SIZE" default:"100MiB" nonzero:"" help:"largest document to convert"`
	VideoWorkers      int64          `name:"video-workers" env:"SATCHEL_VIDEO_WORKERS" default:"1" nonzero:"" help:"concurrent video conversions (ffmpeg processes) on this node"`
	VideoTimeout      time.Duration  `name:"video-timeout" env:"SATCHEL_VIDEO_TIMEOUT" default:"30m" nonzero:"" help:"time limit of one video conversion"`
	VideoMaxDuration  time.Duration  `name:"video-max-duration" env:"SATCHEL_VIDEO_MAX_DURATION" default:"1h" nonzero:"" help:"longest video to convert"`
	VideoMaxRes       string         `name:"video-max-resolution" env:"SATCHEL_VIDEO_MAX_RESOLUTION" default:"3840x2160" help:"largest video to convert, WIDTHxHEIGHT in either orientation"`
	VideoMaxSize      Size           `name:"video-max-size" env:"SATCHEL_VIDEO_MAX_SIZE" default:"0" help:"largest video to convert (0 = --max-file-size)"`
	Gif2VideoMaxSize  Size           `name:"gif2video-max-size" env:"SATCHEL_GIF2VIDEO_MAX_SIZE" default:"${gif2videoMaxSize}" nonzero:"" help:"largest GIF the CDN's gif2video converts (400 beyond); conversions take the expensive image workers and --image-timeout"`
	Gif2VideoFrames   int64          `name:"gif2video-max-frames" env:"SATCHEL_GIF2VIDEO_MAX_FRAMES" default:"${gif2videoMaxFrames}" nonzero:"" help:"most frames of a GIF gif2video converts"`
	Gif2VideoPixels   int64          `name:"gif2video-max-pixels" env:"SATCHEL_GIF2VIDEO_MAX_PIXELS" default:"${gif2videoMaxPixels}" nonzero:"" help:"most pixels of all frames together (width × height × frames) of a GIF gif2video converts"`
	ClamdAddr         string         `name:"clamd-addr" env:"SATCHEL_CLAMD_ADDR" unset:"none (the add-on is not configured)" help:"clamd for uc_clamav_virus_scan: unix:/path or tcp:host:port"`
	ClamdMaxSize      Size           `name:"clamd-max-size" env:"SATCHEL_CLAMD_MAX_SIZE" default:"25MiB" nonzero:"" help:"largest file sent to clamd (at most its StreamMaxLength)"`
	AWSRegion         string         `name:"aws-region" env:"SATCHEL_AWS_REGION" unset:"none (the Rekognition add-ons are not configured)" help:"region of the Rekognition add-ons; credentials from the AWS SDK's sources (AWS_*)"`
	RekognitionURL    string         `name:"rekognition-endpoint" env:"SATCHEL_REKOGNITION_ENDPOINT" unset:"the AWS endpoint" help:"Rekognition endpoint override"`
	RemoveBGKey       string         `name:"removebg-api-key" env:"SATCHEL_REMOVEBG_API_KEY" unset:"none (remove_bg is not configured)" help:"remove.bg API key (prefer the variable: arguments are visible to other users)"`
	RemoveBGURL       string         `name:"removebg-endpoint" env:"SATCHEL_REMOVEBG_ENDPOINT" unset:"the remove.bg API" help:"remove.bg API endpoint override"`
	CustomAddons      string         `name:"addons" env:"SATCHEL_ADDONS" unset:"none" help:"custom add-ons, comma-separated name=https://host/path (see docs/addons.md)"`
	CustomAddonsKey   string         `name:"addons-secret" env:"SATCHEL_ADDONS_SECRET" unset:"none" help:"key signing the requests to custom add-ons"`
	AddonTimeout      time.Duration  `name:"addon-timeout" env:"SATCHEL_ADDON_TIMEOUT" default:"1m" nonzero:"" help:"time limit of one call to an HTTP add-on"`
	MaxImagePixels    int64          `name:"max-image-pixels" env:"SATCHEL_MAX_IMAGE_PIXELS" default:"${maxImagePixels}" nonzero:"" help:"largest source image to transform, in pixels"`
	ImageWorkers      int64          `name:"image-workers" env:"SATCHEL_IMAGE_WORKERS" default:"0" help:"concurrent image transforms (0 = one per core); expensive ones take at most one per core less one (at least one) of them"`
	ImageQueue        int64          `name:"image-queue" env:"SATCHEL_IMAGE_QUEUE" default:"${imageQueue}" help:"transforms that may wait for a worker before answering 429 (0 = none)"`
	ImageTimeout      time.Duration  `name:"image-timeout" env:"SATCHEL_IMAGE_TIMEOUT" default:"${imageTimeout}" nonzero:"" help:"time limit of one transform"`
	ImageMaxSide      int64          `name:"image-max-side" env:"SATCHEL_IMAGE_MAX_SIDE" default:"5000" nonzero:"" help:"longest side, in pixels, an image operation may make an image grow to (sides the source already has are kept)"`
	ImageMaxOutput    int64          `name:"image-max-output-pixels" env:"SATCHEL_IMAGE_MAX_OUTPUT_PIXELS" default:"25000000" nonzero:"" help:"largest image, in pixels, operations may produce"`
	ImageCheapWorkers int64          `name:"image-cheap-workers" env:"SATCHEL_IMAGE_CHEAP_WORKERS" default:"1" help:"image workers kept for cheap transforms, so thumbnails never queue behind big upscales (0 = none)"`
	ImageCheapPixels  int64          `name:"image-cheap-pixels" env:"SATCHEL_IMAGE_CHEAP_PIXELS" default:"4000000" nonzero:"" help:"estimated pixels processed up to which a transform counts as cheap"`
	FaceCascade       string         `name:"face-cascade" env:"SATCHEL_FACE_CASCADE" default:"${faceCascade}" help:"OpenCV 4 Haar cascade XML of the face detector (detect_faces, blur_region/faces, crop/face, smart_faces crops; Debian's opencv-data installs the default); empty or missing turns face detection off"`
	VariantCacheSize  Size           `name:"variant-cache-size" env:"SATCHEL_VARIANT_CACHE_SIZE" default:"${variantCacheSize}" nonzero:"" help:"transformed images kept on each node's local disk"`
	BodyMinRate       Size           `name:"body-min-rate" env:"SATCHEL_BODY_MIN_RATE" default:"1KiB" help:"slowest request body per second, averaged over each --body-idle-timeout window (408 and the connection closed below; 0 = any rate)"`
	BodyIdleTimeout   time.Duration  `name:"body-idle-timeout" env:"SATCHEL_BODY_IDLE_TIMEOUT" default:"30s" help:"longest wait for request body bytes, and the window of --body-min-rate (0 = no limit)"`
	MaxUploads        int64          `name:"max-concurrent-uploads" env:"SATCHEL_MAX_CONCURRENT_UPLOADS" default:"256" help:"files being received on a node, of every API (direct uploads, multipart parts, JSON:API chunks; 503 and Retry-After beyond; 0 = unlimited)"`
	MaxProjectUploads int64          `name:"max-project-uploads" env:"SATCHEL_MAX_PROJECT_UPLOADS" default:"64" help:"the same per project and node (429 and Retry-After beyond; 0 = unlimited)"`
	ShutdownTimeout   time.Duration  `name:"shutdown-timeout" env:"SATCHEL_SHUTDOWN_TIMEOUT" default:"30s" help:"how long SIGTERM/SIGINT waits for requests in progress before cutting them (the next start then recovers)"`
	LogLevel          string         `name:"log-level" env:"SATCHEL_LOG_LEVEL" default:"info" oneof:"debug,info,warn,error" help:"least severe log records written"`
	AccessLog         string         `name:"access-log" env:"SATCHEL_ACCESS_LOG" default:"all" oneof:"all,errors,off" help:"which requests get an access log line (errors: status 400 and up)"`
	DemoPublicKey     string         `name:"demo-public-key" env:"SATCHEL_DEMO_PUBLIC_KEY" unset:"random" help:"public key of the demo project created on first start"`
	DemoSecretKey     string         `name:"demo-secret-key" env:"SATCHEL_DEMO_SECRET_KEY" unset:"random" help:"secret key of the demo project created on first start"`
	MetricsAddr       string         `name:"metrics-addr" env:"SATCHEL_METRICS_ADDR" unset:"the main listener" help:"serve /metrics on this separate address instead of the main one"`
	MetricsToken      string         `name:"metrics-token" env:"SATCHEL_METRICS_TOKEN" unset:"none" help:"bearer token /metrics requires"`
	UploaderPage      bool           `name:"uploader-page" env:"SATCHEL_UPLOADER_PAGE" default:"true" negatable:"" help:"serve the upload page at / and the embeddable uploader under /uploader/"`
	AdminToken        string         `name:"admin-token" env:"SATCHEL_ADMIN_TOKEN" unset:"none (project keys only)" help:"token that signs an administrator in to the dashboard (all projects); prefer the variable: arguments are visible to other users"`
	PprofAddr         string         `name:"pprof-addr" env:"SATCHEL_PPROF_ADDR" hidden:"" help:"serve runtime profiles on this separate address (benchmarks only)"`

	decodeErrs decodeErrors
}

// packageDefaults are the defaults that packages also apply to zero
// options, for the ${name} references in the default tags above, so that each
// is written once, in its package.
func packageDefaults() kong.Vars {
	return kong.Vars{
		"maxFileSize":        Size(app.DefaultMaxFileSize).String(),
		"maxDirectUpload":    Size(uploadapi.DefaultMaxDirectUpload).String(),
		"temporaryTTL":       formatDuration(app.DefaultTemporaryTTL),
		"sessionTTL":         formatDuration(app.DefaultSessionTTL),
		"simpleAuth":         restapi.DefaultSimpleAuthOverHTTP,
		"fetchWorkers":       itoa(app.DefaultFetchWorkers),
		"fetchTimeout":       formatDuration(fetch.DefaultTimeout),
		"cdnMetaCache":       itoa(cdn.DefaultMetaCacheSize),
		"cdnHotCache":        Size(cdn.DefaultHotCacheBytes).String(),
		"cdnOpenFiles":       itoa(cdn.DefaultOpenFiles),
		"fetchPerProject":    itoa(app.DefaultFetchPerProject),
		"webhookPerProject":  itoa(webhook.DefaultPerProject),
		"webhookTimeout":     formatDuration(webhook.DefaultTimeout),
		"maxImagePixels":     itoa(imaging.DefaultMaxPixels),
		"imageQueue":         itoa(imaging.DefaultQueueSize),
		"imageTimeout":       formatDuration(imaging.DefaultTimeout),
		"faceCascade":        imaging.DefaultFaceCascade,
		"variantCacheSize":   Size(server.DefaultVariantCacheSize).String(),
		"gif2videoMaxSize":   Size(cdn.DefaultGif2VideoMaxSize).String(),
		"gif2videoMaxFrames": itoa(cdn.DefaultGif2VideoMaxFrames),
		"gif2videoMaxPixels": itoa(cdn.DefaultGif2VideoMaxPixels),
	}
}

// Validate reports every mistake in the settings, one a line: values that
// do not parse, zeros where a zero would silently mean something else, and
// choices outside their list. The parser calls it once the flags and the
// environment are read.
func (c *serveConfig) Validate() error {
	var more []error
	if w, h, ok := strings.Cut(c.VideoMaxRes, "x"); !ok || !positive(w) || !positive(h) {
		more = append(more, errors.New("--video-max-resolution (SATCHEL_VIDEO_MAX_RESOLUTION): want WIDTHxHEIGHT"))
	}
	if c.JobRescueAfter != 0 && c.JobRescueAfter < 10*time.Second {
		more = append(more, errors.New("--job-rescue-after (SATCHEL_JOB_RESCUE_AFTER): at least 10s, since long jobs beat every 4s"))
	}
	return validateSettings(c, c.decodeErrs, more...)
}

// serverConfig maps the settings onto the server's runtime configuration.
func (c *serveConfig) serverConfig(log *slog.Logger) server.Config {
	queue := int(c.ImageQueue)
	if queue == 0 {
		queue = -1 // the engine reads 0 as its default and a negative size as none
	}
	cheapWorkers := int(c.ImageCheapWorkers)
	if cheapWorkers == 0 {
		cheapWorkers = -1 // the engine reads 0 as its default and a negative count as none
	}
	vw, vh := c.videoMaxRes()
	return server.Config{
		DataDir: c.DataDir, DatabaseURL: c.DatabaseURL, StorageURL: c.StorageURL, PublicURL: c.PublicURL, FetchAllowPrivate: c.FetchAllowPrivate,
		MaxFileSize: int64(c.MaxFileSize), MaxDirectUpload: int64(c.MaxDirectUpload),
		TemporaryTTL: c.TemporaryTTL, SessionTTL: c.SessionTTL, RateLimit: c.RateLimit,
		FetchWorkers: int(c.FetchWorkers), FetchMaxBytes: int64(c.FetchMaxBytes), FetchTimeout: c.FetchTimeout,
		Retention: c.Retention, JobRescueAfter: c.JobRescueAfter,
		Addons: addons.Config{ClamdAddr: c.ClamdAddr, ClamdMaxSize: int64(c.ClamdMaxSize), AWSRegion: c.AWSRegion, RekognitionEndpoint: c.RekognitionURL,
			RemoveBGKey: c.RemoveBGKey, RemoveBGEndpoint: c.RemoveBGURL, Custom: c.CustomAddons, CustomSecret: c.CustomAddonsKey, Timeout: c.AddonTimeout},
		DocumentWorkers: int(c.DocumentWorkers), DocumentTimeout: c.DocumentTimeout, DocumentMaxPages: int(c.DocumentMaxPages), DocumentMaxSize: int64(c.DocumentMaxSize),
		VideoWorkers: int(c.VideoWorkers), VideoTimeout: c.VideoTimeout, VideoMaxDuration: c.VideoMaxDuration, VideoMaxWidth: vw, VideoMaxHeight: vh, VideoMaxSize: int64(c.VideoMaxSize),
		Gif2VideoMaxSize: int64(c.Gif2VideoMaxSize), Gif2VideoMaxFrames: int(c.Gif2VideoFrames), Gif2VideoMaxPixels: c.Gif2VideoPixels,
		FetchPerProject: int(c.FetchPerProject), WebhookPerProject: int(c.WebhookPerProject), WebhookTimeout: c.WebhookTimeout, FetchDeny: c.FetchDeny, SimpleAuthOverHTTP: c.SimpleAuth, TrustedProxies: c.TrustedProxies,
		ListenURL:      "http://" + c.Addr,
		MaxImagePixels: c.MaxImagePixels, ImageWorkers: int(c.ImageWorkers), ImageQueue: queue, ImageTimeout: c.ImageTimeout, VariantCacheSize: int64(c.VariantCacheSize), FaceCascade: c.FaceCascade,
		ImageMaxSide: int(c.ImageMaxSide), ImageMaxOutputPixels: c.ImageMaxOutput, ImageCheapWorkers: cheapWorkers, ImageCheapPixels: c.ImageCheapPixels, CDNMetaCacheSize: int(c.CDNMetaCache),
		CDNHotCacheBytes: hotCache(c.CDNHotCache), CDNOpenFiles: openFiles(c.CDNOpenFiles),
		BodyMinRate: int64(c.BodyMinRate), BodyIdleTimeout: c.BodyIdleTimeout, MaxConcurrentUploads: int(c.MaxUploads), MaxProjectUploads: int(c.MaxProjectUploads),
		DemoPublicKey: c.DemoPublicKey, DemoSecretKey: c.DemoSecretKey, Log: log, AccessLog: c.AccessLog,
		MetricsToken: c.MetricsToken, MetricsElsewhere: c.MetricsAddr != "", AdminToken: c.AdminToken, NoUploaderPage: !c.UploaderPage,
	}
}

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// parseServe reads the flags of `satchel serve` (args after the command)
// and the environment, and validates them.
func parseServe(args []string) (*serveConfig, error) {
	var c cli
	p, _, err := newParser(&c, nil, nil)
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(append([]string{"serve"}, args...)); err != nil {
		var se settingsError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, err
	}
	return &c.Serve, nil
}

func positive(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0
}

// videoMaxRes splits --video-max-resolution (checked by Validate).
func (c *serveConfig) videoMaxRes() (int, int) {
	w, h, _ := strings.Cut(c.VideoMaxRes, "x")
	wi, _ := strconv.Atoi(w)
	hi, _ := strconv.Atoi(h)
	return wi, hi
}

// openFiles maps --cdn-open-files to server.Config.CDNOpenFiles, where 0
// means the default and a negative count turns the cache off.
func openFiles(n int64) int {
	if n <= 0 {
		return -1
	}
	return int(n)
}

// hotCache maps --cdn-hot-cache to server.Config.CDNHotCacheBytes, where
// 0 means the default and a negative size turns the cache off.
func hotCache(s Size) int64 {
	if s == 0 {
		return -1
	}
	return int64(s)
}
