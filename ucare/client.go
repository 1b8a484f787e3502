package ucare

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default hosts and settings.
const (
	DefaultUploadBase = "https://upload.uploadcare.com"
	DefaultAPIBase    = "https://api.uploadcare.com"
	DefaultCDNBase    = "https://ucarecdn.com"
	DefaultAPIVersion = "0.7"

	// DefaultMultipartThreshold is the size from which Upload uses a
	// multipart upload (the Upload API refuses multipart below it).
	DefaultMultipartThreshold = 10 << 20
	// DefaultPartSize is the size of multipart parts.
	DefaultPartSize = 5 << 20
	// DefaultPartConcurrency is how many parts go up at once.
	DefaultPartConcurrency = 4
	// DefaultSignedUploadTTL is how long an upload signature stays valid.
	DefaultSignedUploadTTL = 60 * time.Second
	// BatchSize is the most UUIDs one batch store/delete request carries.
	BatchSize = 100
)

// Version is the SDK's version, sent in the User-Agent.
const Version = "1.0.0"

// AuthScheme selects how REST API requests authenticate.
type AuthScheme int

const (
	// AuthSigned signs every request with HMAC-SHA1 over its method, body,
	// content type, date and URI ("Authorization: Uploadcare pub:sig"); the
	// secret key never travels. The default.
	AuthSigned AuthScheme = iota
	// AuthSimple sends both keys ("Authorization: Uploadcare.Simple pub:secret").
	// Uploadcare (and Satchel, except from loopback clients) refuse it over
	// plain HTTP.
	AuthSimple
)

// Config configures a Client. Only PublicKey is required; REST calls also
// need SecretKey.
type Config struct {
	PublicKey string
	SecretKey string

	// UploadBase, APIBase and CDNBase are the roots of the Upload API, the
	// REST API and the CDN, e.g. "http://127.0.0.1:8080" for a local Satchel.
	// A trailing slash is optional; a path prefix is kept.
	UploadBase string
	APIBase    string
	CDNBase    string

	// APIVersion is the REST API version ("0.7" by default; "0.5", "0.6").
	APIVersion string
	// Auth is the REST authentication scheme (AuthSigned by default).
	Auth AuthScheme

	// SignedUploads adds a signature and its expiry to uploads (needed when
	// the project requires signed uploads; uses SecretKey).
	SignedUploads bool
	// SignedUploadTTL is how long an upload signature is valid (60s).
	SignedUploadTTL time.Duration

	// HTTPClient sends REST API and CDN requests; UploadHTTPClient sends
	// Upload API requests and multipart parts (HTTPClient when nil). The
	// defaults have no overall timeout (see Timeout) but give up on a server
	// that sends no response headers for a minute.
	HTTPClient       *http.Client
	UploadHTTPClient *http.Client
	// Timeout bounds each API request attempt, body included (none when 0).
	// Requests carrying file content (direct uploads, multipart parts) and
	// CDN downloads are bounded by their context only.
	Timeout time.Duration

	// RetryThrottled is how many times a throttled (429) request is retried
	// after waiting its Retry-After (3 by default; negative: never).
	RetryThrottled int
	// RetryNetwork is how many times a request that failed on the network
	// (or got 502/503/504) is retried with exponential backoff (3 by
	// default; negative: never). Requests that may have changed something
	// (POST) are retried only when the connection was never made.
	RetryNetwork int
	// RetryBackoff is the first backoff delay (500ms), doubled each time.
	RetryBackoff time.Duration
	// MaxRetryWait caps a single wait between retries, Retry-After included (2m).
	MaxRetryWait time.Duration

	// MultipartThreshold is the size from which uploads are multipart
	// (DefaultMultipartThreshold).
	MultipartThreshold int64
	// PartSize is the multipart part size (DefaultPartSize, at least 5 MiB).
	PartSize int64
	// PartConcurrency is how many parts are sent at once (DefaultPartConcurrency).
	PartConcurrency int
	// PartRetries is how many times one part is retried (3; negative: never).
	PartRetries int

	// UserAgent is appended to the User-Agent header.
	UserAgent string
	// SecureURLBuilder, when set, makes the URLs SecureURL returns.
	SecureURLBuilder SecureURLBuilder
}

// Client talks to the Upload API, the REST API and the CDN of one project.
// It is safe for concurrent use.
type Client struct {
	cfg        Config
	uploadBase string
	apiBase    string
	cdnBase    string
	rest       *http.Client
	upload     *http.Client
	now        func() time.Time
}

// NewClient checks cfg, fills in its defaults and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.PublicKey == "" {
		return nil, &InvalidParamError{"PublicKey", "is required"}
	}
	var err error
	c := &Client{now: time.Now}
	if c.uploadBase, err = normBase("UploadBase", cfg.UploadBase, DefaultUploadBase); err != nil {
		return nil, err
	}
	if c.apiBase, err = normBase("APIBase", cfg.APIBase, DefaultAPIBase); err != nil {
		return nil, err
	}
	if c.cdnBase, err = normBase("CDNBase", cfg.CDNBase, DefaultCDNBase); err != nil {
		return nil, err
	}
	cfg.UploadBase, cfg.APIBase, cfg.CDNBase = c.uploadBase, c.apiBase, c.cdnBase
	cfg.APIVersion = strings.TrimPrefix(cfg.APIVersion, "v")
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	switch cfg.APIVersion {
	case "0.5", "0.6", "0.7":
	default:
		return nil, &InvalidParamError{"APIVersion", fmt.Sprintf("%q is not a REST API version (0.5, 0.6, 0.7)", cfg.APIVersion)}
	}
	if cfg.Auth != AuthSigned && cfg.Auth != AuthSimple {
		return nil, &InvalidParamError{"Auth", "unknown scheme"}
	}
	if cfg.SignedUploadTTL <= 0 {
		cfg.SignedUploadTTL = DefaultSignedUploadTTL
	}
	if cfg.SignedUploads && cfg.SecretKey == "" {
		return nil, &InvalidParamError{"SignedUploads", "needs SecretKey"}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		} else if *v < 0 {
			*v = 0
		}
	}
	defInt(&cfg.RetryThrottled, 3)
	defInt(&cfg.RetryNetwork, 3)
	defInt(&cfg.PartRetries, 3)
	if cfg.PartConcurrency <= 0 {
		cfg.PartConcurrency = DefaultPartConcurrency
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 500 * time.Millisecond
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = 2 * time.Minute
	}
	if cfg.MultipartThreshold <= 0 {
		cfg.MultipartThreshold = DefaultMultipartThreshold
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < DefaultPartSize {
		return nil, &InvalidParamError{"PartSize", "must be at least 5 MiB"}
	}
	c.rest = cfg.HTTPClient
	if c.rest == nil {
		c.rest = defaultHTTPClient()
	}
	c.upload = cfg.UploadHTTPClient
	if c.upload == nil {
		c.upload = c.rest
	}
	c.cfg = cfg
	return c, nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}

func normBase(name, v, def string) (string, error) {
	if v == "" {
		v = def
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", &InvalidParamError{name, fmt.Sprintf("%q is not an absolute http(s) URL without query", v)}
	}
	return strings.TrimRight(v, "/"), nil
}

// Config returns the client's configuration with its defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// PublicKey returns the project's public key.
func (c *Client) PublicKey() string { return c.cfg.PublicKey }

func (c *Client) userAgent() string {
	ua := "SatchelUcareGo/" + Version + "/" + c.cfg.PublicKey
	if c.cfg.UserAgent != "" {
		ua += " " + c.cfg.UserAgent
	}
	return ua
}

// request is one API call, sendable several times.
type request struct {
	method string
	url    string
	// body is the request body (nil: none); bodyFn, when set, makes a fresh
	// body reader for each attempt (streamed bodies).
	body   []byte
	bodyFn func() io.Reader
	length int64
	header http.Header
	// rest signs the request with the REST API's authentication.
	rest   bool
	client *http.Client
	// noTimeout skips Config.Timeout (long transfers).
	noTimeout bool
	// ownRetries makes throttledRetries and networkRetries replace
	// Config's retry counts.
	ownRetries                       bool
	throttledRetries, networkRetries int
	// onRetry is told before each retry (e.g. to reset progress).
	onRetry func()
}

// response is a completed call.
type response struct {
	status int
	header http.Header
	body   []byte
}

// maxResponse caps an API response body.
const maxResponse = 64 << 20

// do sends r, retrying throttled and failed attempts as Config allows, and
// returns the response, whatever its status.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	throttled, network := c.cfg.RetryThrottled, c.cfg.RetryNetwork
	if r.ownRetries {
		throttled, network = r.throttledRetries, r.networkRetries
	}
	backoff := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, r)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctxError(ctx, r)
			}
			if network <= 0 || !retryable(r.method, err) {
				var te *TimeoutError
				if errors.As(err, &te) {
					return nil, err
				}
				return nil, &APIConnectionError{Method: r.method, URL: r.url, Err: err}
			}
			network--
			wait = jitter(backoff)
			backoff *= 2
		case resp.status == http.StatusTooManyRequests:
			if throttled <= 0 {
				return resp, nil
			}
			throttled--
			wait = retryAfter(resp.header)
			if wait <= 0 {
				wait = 15 * time.Second
			}
		case (resp.status == http.StatusBadGateway || resp.status == http.StatusServiceUnavailable || resp.status == http.StatusGatewayTimeout) && idempotent(r.method):
			if network <= 0 {
				return resp, nil
			}
			network--
			wait = retryAfter(resp.header)
			if wait <= 0 {
				wait = jitter(backoff)
				backoff *= 2
			}
		default:
			return resp, nil
		}
		if wait > c.cfg.MaxRetryWait {
			wait = c.cfg.MaxRetryWait
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, ctxError(ctx, r)
		}
		if r.onRetry != nil {
			r.onRetry()
		}
	}
}

func ctxError(ctx context.Context, r *request) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &TimeoutError{Op: r.method + " " + r.url, Err: ctx.Err()}
	}
	return ctx.Err()
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// retryable reports whether a failed attempt may be sent again: always for
// idempotent methods, and for others only when no connection was made.
func retryable(method string, err error) bool {
	if idempotent(method) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// attempt sends r once and reads the whole response.
func (c *Client) attempt(ctx context.Context, r *request) (*response, error) {
	if c.cfg.Timeout > 0 && !r.noTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	var body io.Reader
	switch {
	case r.bodyFn != nil:
		body = r.bodyFn()
	case r.body != nil:
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, &InvalidParamError{"URL", err.Error()}
	}
	if r.bodyFn != nil {
		req.ContentLength = r.length
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent())
	}
	if r.rest {
		c.authorize(req, r.body)
	}
	hc := r.client
	if hc == nil {
		hc = c.rest
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && c.cfg.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &TimeoutError{Op: r.method + " " + r.url, Err: err}
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponse)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// authorize adds the REST API's version, date and authentication headers.
func (c *Client) authorize(req *http.Request, body []byte) {
	req.Header.Set("Accept", "application/vnd.uploadcare-v"+c.cfg.APIVersion+"+json")
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	date := c.now().UTC().Format(http.TimeFormat)
	req.Header.Set("Date", date)
	if c.cfg.Auth == AuthSimple {
		req.Header.Set("Authorization", "Uploadcare.Simple "+c.cfg.PublicKey+":"+c.cfg.SecretKey)
		return
	}
	sig := RESTSignature(c.cfg.SecretKey, req.Method, body, req.Header.Get("Content-Type"), date, req.URL.RequestURI())
	req.Header.Set("Authorization", "Uploadcare "+c.cfg.PublicKey+":"+sig)
}

// RESTSignature is the signature of a signed REST API request: lowercase hex
// HMAC-SHA1, keyed with the secret key, of the method, the MD5 of the body,
// the Content-Type, the date header and the request URI, one per line.
func RESTSignature(secretKey, method string, body []byte, contentType, date, requestURI string) string {
	sum := md5.Sum(body)
	m := hmac.New(sha1.New, []byte(secretKey))
	io.WriteString(m, strings.ToUpper(method)+"\n"+hex.EncodeToString(sum[:])+"\n"+contentType+"\n"+date+"\n"+requestURI)
	return hex.EncodeToString(m.Sum(nil))
}

// UploadSignature is the signature of a signed upload: lowercase hex
// HMAC-SHA256 of the decimal expiry time, keyed with the secret key.
func UploadSignature(secretKey string, expire int64) string {
	m := hmac.New(sha256.New, []byte(secretKey))
	io.WriteString(m, strconv.FormatInt(expire, 10))
	return hex.EncodeToString(m.Sum(nil))
}

// restCall makes a REST API call. pathOrURL is a path under APIBase (with
// its query, if any, in query). in is marshalled as JSON (nil: no body);
// the answer is decoded into out (when non-nil). It returns the status.
func (c *Client) restCall(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	if c.cfg.SecretKey == "" {
		return 0, ErrSecretKeyRequired
	}
	u := c.apiBase + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, &InvalidParamError{"body", err.Error()}
		}
	}
	r := &request{method: method, url: u, body: body, rest: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	if resp.status >= 400 {
		return resp.status, restError(r, resp)
	}
	if out != nil && resp.status != http.StatusNoContent {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp.status, &APIError{StatusCode: resp.status, Message: "unexpected response body: " + err.Error(), Method: method, URL: u}
		}
	}
	return resp.status, nil
}

// restError turns a REST error answer into a typed error.
func restError(r *request, resp *response) error {
	e := &APIError{StatusCode: resp.status, Method: r.method, URL: r.url}
	var d struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(resp.body, &d) == nil && len(d.Detail) > 0 {
		var s string
		if json.Unmarshal(d.Detail, &s) == nil {
			e.Message = s
		} else {
			e.Message = string(d.Detail)
		}
	} else {
		e.Message = strings.TrimSpace(string(resp.body))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.status)
	}
	return classify(e, retryAfter(resp.header), resp.body)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
