// Package app holds Satchel's application services: authorising projects,
// ingesting uploads (direct, multipart, from URL), groups and the lifecycle
// sweeps. Every API dialect calls these; none of this knows about HTTP forms.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/addons"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/convert"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/internal/reqctx"
	"github.com/satchel-project/satchel/jobs"
	"golang.org/x/time/rate"
)

// Inspector describes a file's content once its MIME type is sniffed:
// image and video properties. The server passes package inspect's (libvips
// and ffprobe); app itself stays free of cgo.
type Inspector interface {
	Inspect(ctx context.Context, path, mime string) (*satchel.ContentInfo, bool, error)
}

// Config bounds and shapes the services.
type Config struct {
	// MaxFileSize is the server-wide cap of one file (projects may lower it).
	MaxFileSize int64
	// TemporaryTTL is how long unstored files live.
	TemporaryTTL time.Duration
	// SessionTTL is how long a multipart upload may stay incomplete.
	SessionTTL time.Duration
	// FetchTaskTTL is how long finished from-URL tasks stay queryable.
	FetchTaskTTL time.Duration
	// FetchWorkers is the number of concurrent from-URL downloads.
	FetchWorkers int
	// FetchPerProject caps the from-URL downloads one project has running
	// across all nodes (default 2), so that a project with slow sources
	// leaves workers to the others.
	FetchPerProject int
	// RateLimit is the sustained requests/s per project (0: unlimited); Burst the bucket.
	RateLimit float64
	Burst     int
	// SweepEvery is the period of the lifecycle sweeps.
	SweepEvery time.Duration
	// Retention is how long webhook events and finished deliveries are
	// kept (default 30 days).
	Retention time.Duration
	// TempDir holds short-lived local copies (inspection of remote blobs).
	TempDir string
	// MaxDocumentSize and MaxVideoSize cap the files the converters take
	// (0: no cap beyond MaxFileSize).
	MaxDocumentSize int64
	MaxVideoSize    int64
	// MaxConcurrentUploads caps the uploads being received by this node
	// (Receive, PutPart), whatever the dialect: KindUnavailable beyond.
	// MaxProjectUploads caps them per project: KindThrottled beyond. 0 is
	// unlimited.
	MaxConcurrentUploads int
	MaxProjectUploads    int
}

// Defaults of Config fields left zero.
const (
	DefaultMaxFileSize     = 50 << 30
	DefaultTemporaryTTL    = 24 * time.Hour
	DefaultSessionTTL      = 24 * time.Hour
	DefaultFetchWorkers    = 16
	DefaultFetchPerProject = 2
)

func (c *Config) defaults() {
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	if c.TemporaryTTL == 0 {
		c.TemporaryTTL = DefaultTemporaryTTL
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.FetchTaskTTL == 0 {
		c.FetchTaskTTL = 24 * time.Hour
	}
	if c.FetchWorkers == 0 {
		c.FetchWorkers = DefaultFetchWorkers
	}
	if c.FetchPerProject <= 0 {
		c.FetchPerProject = DefaultFetchPerProject
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.Burst == 0 {
		c.Burst = int(2*c.RateLimit) + 1
	}
}

// App is the set of application services.
type App struct {
	Store   satchel.Store
	Bucket  blobstore.Bucket
	Inspect Inspector
	Fetch   *fetch.Client
	Log     *slog.Logger
	// Purge, when set, is told about every removed file (the CDN drops its
	// cached metadata and variants).
	Purge func(uuid string)
	// Transform, when set, applies CDN operations to a file (local and
	// remote copies with operations).
	Transform func(ctx context.Context, f *satchel.File, ops string) (body []byte, contentType string, err error)
	// PurgeVariants, when set, removes a file's derived images kept in the
	// shared blob store; the blob removal job retries it until it succeeds.
	PurgeVariants func(ctx context.Context, uuid string) error
	// SettleFetches, when set, runs in every Retain before finished from-URL
	// tasks are forgotten: the JSON:API dialect settles the files that wait
	// on them (see jsonapi.Handler.SettleFetches).
	SettleFetches func(ctx context.Context, now time.Time, ttl time.Duration) error
	// Jobs is the database of the job system (fairness slots, heartbeats).
	Jobs jobs.DB
	// Addons are the add-ons the operator set up, by name; CDNBase is the
	// root of the file URLs they get (see ExecuteAddon).
	Addons  map[string]addons.Addon
	CDNBase string
	// Documents and Video convert files (nil: that conversion is
	// unavailable on this node).
	Documents *convert.Documents
	Video     *convert.Video

	cfg Config

	// partKey signs multipart part URLs; it is shared by all nodes through the store.
	partKey []byte

	projects sync.Map // public key → *cachedProject
	limiters sync.Map // project id → *rate.Limiter
	locks    keyedMutex
	slots    uploadSlots
	// anonymous holds the anonymous rate limits (ThrottleAnonymous).
	anonymous *anonymousLimiters

	// halt ends the jobs that outlive River's job timeout (see Halt).
	halt    context.Context
	haltNow context.CancelFunc
}

// New wires the services. Call Start to run background work.
func New(ctx context.Context, store satchel.Store, bucket blobstore.Bucket, insp Inspector, fc *fetch.Client, log *slog.Logger, cfg Config) (*App, error) {
	cfg.defaults()
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("app: random: %w", err)
	}
	key, err := store.SetSettingIfAbsent(ctx, "part_url_key", hex.EncodeToString(raw[:]))
	if err != nil {
		return nil, fmt.Errorf("app: part URL key: %w", err)
	}
	pk, err := hex.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("app: part URL key: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	halt, haltNow := context.WithCancel(context.Background())
	return &App{
		Store: store, Bucket: bucket, Inspect: insp, Fetch: fc, Log: log, cfg: cfg,
		partKey:   pk,
		slots:     uploadSlots{maxTotal: cfg.MaxConcurrentUploads, maxProject: cfg.MaxProjectUploads},
		anonymous: newAnonymousLimiters(),
		halt:      halt, haltNow: haltNow,
	}, nil
}

// Config returns the configuration in force.
func (a *App) Config() Config { return a.cfg }

// Halt cancels the jobs still running at a shutdown's deadline, including
// downloads past River's job timeout (which they outlive, see fetchWorker).
func (a *App) Halt() { a.haltNow() }

func newUUID() string { return uuid.NewString() }

type cachedProject struct {
	p       *satchel.Project
	expires time.Time
}

const projectCacheTTL = 5 * time.Second

// ProjectByKey authorises a request by public key; field names the form field
// in error messages ("UPLOADCARE_PUB_KEY" or "pub_key"). It also applies the
// project's rate limit.
func (a *App) ProjectByKey(ctx context.Context, key, field string) (*satchel.Project, error) {
	p, err := a.LookupProject(ctx, key, field)
	if err != nil {
		return nil, err
	}
	if err := a.throttle(p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

// LookupProject finds a project by public key like ProjectByKey but leaves
// its rate limit alone: callers that still have to check a secret charge the
// limit with Throttle once the caller is known to be the project's owner.
func (a *App) LookupProject(ctx context.Context, key, field string) (*satchel.Project, error) {
	if key == "" {
		return nil, invalid(satchel.ReasonKeyRequired, field, "%s is required.", field)
	}
	var p *satchel.Project
	if c, ok := a.projects.Load(key); ok && time.Now().Before(c.(*cachedProject).expires) {
		p = c.(*cachedProject).p
	} else {
		var err error
		p, err = a.Store.ProjectByPublicKey(ctx, key)
		if satchel.IsNotFound(err) {
			return nil, withValue(newError(satchel.KindUnauthorized, satchel.ReasonKeyInvalid, "%s is invalid.", field), key)
		}
		if err != nil {
			return nil, fmt.Errorf("app: project lookup: %w", err)
		}
		a.projects.Store(key, &cachedProject{p: p, expires: time.Now().Add(projectCacheTTL)})
	}
	reqctx.SetProject(ctx, p.PublicKey)
	return p, nil
}

// Throttle charges one request to a project's rate limit and returns the
// 429 error when the limit is spent.
func (a *App) Throttle(projectID int64) error { return a.throttle(projectID) }

func (a *App) throttle(projectID int64) error {
	if a.cfg.RateLimit <= 0 {
		return nil
	}
	l, _ := a.limiters.LoadOrStore(projectID, rate.NewLimiter(rate.Limit(a.cfg.RateLimit), a.cfg.Burst))
	r := l.(*rate.Limiter).Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		secs := int(d/time.Second) + 1
		return &satchel.Error{Kind: satchel.KindThrottled, Reason: satchel.ReasonThrottled, Message: "Request was throttled.", RetryAfter: secs}
	}
	return nil
}

// CheckSignature verifies a signed-upload pair. When the project requires
// signatures both must be present; when they are given anyway they are checked.
func (a *App) CheckSignature(p *satchel.Project, signature, expire string) error {
	if signature == "" && expire == "" && !p.SignedUploads {
		return nil
	}
	if signature == "" {
		return invalid(satchel.ReasonSigRequired, "signature", "signature is required.")
	}
	if expire == "" {
		return invalid(satchel.ReasonSigExpRequired, "expire", "expire is required.")
	}
	exp, err := strconv.ParseInt(expire, 10, 64)
	if err != nil {
		return invalid(satchel.ReasonSigExpInvalid, "expire", "expire must be a UNIX timestamp.")
	}
	if exp < time.Now().Unix() {
		return newError(satchel.KindExpired, satchel.ReasonSigExpired, "Expired signature.")
	}
	want := UploadSignature(p.SecretKey, exp)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return newError(satchel.KindForbidden, satchel.ReasonSigInvalid, "Invalid signature.")
	}
	return nil
}

// UploadSignature is the signed-upload signature for a secret and expiry:
// lowercase hex HMAC-SHA256(secret, decimal(expire)).
func UploadSignature(secret string, expire int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(expire, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// keyedMutex serialises work on one key (a multipart session) within a node.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) Lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// notFound maps a store miss to an API error.
func notFound(err error, reason satchel.Reason, msg string) error {
	if errors.Is(err, satchel.ErrNotFound) {
		return newError(satchel.KindNotFound, reason, "%s", msg)
	}
	return err
}

// purged tells the CDN that a file is gone.
func (a *App) purged(uuid string) {
	if a.Purge != nil {
		a.Purge(uuid)
	}
}
