package ucare

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/satchel-project/satchel/ucare/akamai"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// CDNBase returns the client's CDN root (no trailing slash).
func (c *Client) CDNBase() string { return c.cdnBase }

// CDNURL returns the CDN URL of a file, with the operations of t (nil for
// none): "<CDNBase>/<uuid>/[-/<ops>]". Call t.Err first to have the
// operations checked.
func (c *Client) CDNURL(uuid string, t *Transformation) string {
	tg := cdnurl.Target{UUID: uuid, Nth: -1}
	if t != nil {
		tg.Ops = t.ops
	}
	return c.cdnBase + tg.Path()
}

// GroupURL returns the CDN URL of a group.
func (c *Client) GroupURL(groupID string) string {
	return c.cdnBase + (&cdnurl.Target{GroupID: groupID, Nth: -1}).Path()
}

// GroupMemberURL returns the CDN URL of member n (0-based) of a group, with
// the operations of t (nil for none) applied after the member's own.
func (c *Client) GroupMemberURL(groupID string, n int, t *Transformation) string {
	tg := cdnurl.Target{GroupID: groupID, Nth: n}
	if t != nil {
		tg.Ops = t.ops
	}
	return c.cdnBase + tg.Path()
}

// GroupArchiveURL returns the CDN URL of a group as one archive: format is
// "zip" or "tar"; filename may be empty.
func (c *Client) GroupArchiveURL(groupID, format, filename string) string {
	return c.cdnBase + (&cdnurl.Target{GroupID: groupID, Nth: -1, Archive: format, Filename: filename}).Path()
}

// Download writes the body of a CDN URL to w and returns its size. Network
// failures before the first byte are retried as Config.RetryNetwork allows;
// error answers give typed errors (404 → IsNotFound).
func (c *Client) Download(ctx context.Context, cdnURL string, w io.Writer) (int64, error) {
	backoff := c.cfg.RetryBackoff
	network, throttled := c.cfg.RetryNetwork, c.cfg.RetryThrottled
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cdnURL, nil)
		if err != nil {
			return 0, &InvalidParamError{"URL", err.Error()}
		}
		req.Header.Set("User-Agent", c.userAgent())
		resp, err := c.rest.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, ctxError(ctx, &request{method: "GET", url: cdnURL})
			}
			if network <= 0 {
				return 0, &APIConnectionError{Method: "GET", URL: cdnURL, Err: err}
			}
			network--
			wait = jitter(backoff)
			backoff *= 2
		case resp.StatusCode == http.StatusOK:
			n, err := io.Copy(w, resp.Body)
			resp.Body.Close()
			if err != nil {
				return n, &APIConnectionError{Method: "GET", URL: cdnURL, Err: err}
			}
			return n, nil
		default:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			retry := false
			if resp.StatusCode == http.StatusTooManyRequests && throttled > 0 {
				throttled--
				retry, wait = true, retryAfter(resp.Header)
			} else if resp.StatusCode >= 502 && resp.StatusCode <= 504 && network > 0 {
				network--
				retry, wait = true, jitter(backoff)
				backoff *= 2
			}
			if !retry {
				e := &APIError{StatusCode: resp.StatusCode, Method: "GET", URL: cdnURL, Message: strings.TrimSpace(string(b))}
				return 0, classify(e, retryAfter(resp.Header), b)
			}
		}
		if err := sleep(ctx, min(wait, c.cfg.MaxRetryWait)); err != nil {
			return 0, ctxError(ctx, &request{method: "GET", url: cdnURL})
		}
	}
}

// SecureURLBuilder makes signed CDN URLs.
type SecureURLBuilder interface {
	// SecureURL returns a signed URL for handle: a file UUID, a CDN path
	// ("<uuid>/-/resize/640x/") or a CDN URL.
	SecureURL(handle string) (string, error)
}

// SecureURL signs a CDN handle with Config.SecureURLBuilder.
func (c *Client) SecureURL(handle string) (string, error) {
	if c.cfg.SecureURLBuilder == nil {
		return "", &InvalidParamError{"SecureURLBuilder", "not configured"}
	}
	return c.cfg.SecureURLBuilder.SecureURL(handle)
}

// AkamaiACLURLBuilder makes URLs carrying an Akamai ACL token (pyuploadcare's
// AkamaiSecureUrlBuilderWithAclToken): "<CDNBase>/<path>/?token=exp=…~acl=…~hmac=…".
type AkamaiACLURLBuilder struct {
	// CDNBase is the secured CDN's root (DefaultCDNBase when empty).
	CDNBase string
	// Secret is the token secret as hex (the HMAC key is its bytes).
	Secret string
	// Window is how long URLs stay valid (5 minutes when 0).
	Window time.Duration
	// Wildcard makes the ACL cover every path below the handle ("/<path>/*").
	Wildcard bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// SecureURL returns a signed URL for handle.
func (b *AkamaiACLURLBuilder) SecureURL(handle string) (string, error) {
	base, path, exp := secureParts(b.CDNBase, handle, b.Window, b.Now)
	tok, err := akamai.ACLToken(b.Secret, path, exp, b.Wildcard)
	if err != nil {
		return "", &InvalidParamError{"handle", err.Error()}
	}
	return base + path + "?token=" + tok, nil
}

// AkamaiURLTokenBuilder makes URLs carrying an Akamai URL token (pyuploadcare's
// AkamaiSecureUrlBuilderWithUrlToken), valid for exactly that path.
type AkamaiURLTokenBuilder struct {
	CDNBase string
	Secret  string
	Window  time.Duration
	Now     func() time.Time
}

// SecureURL returns a signed URL for handle.
func (b *AkamaiURLTokenBuilder) SecureURL(handle string) (string, error) {
	base, path, exp := secureParts(b.CDNBase, handle, b.Window, b.Now)
	tok, err := akamai.URLToken(b.Secret, path, exp)
	if err != nil {
		return "", &InvalidParamError{"handle", err.Error()}
	}
	return base + path + "?token=" + tok, nil
}

// secureParts returns the CDN root, the handle's path as "/<path>/" and the
// expiry time.
func secureParts(base, handle string, window time.Duration, now func() time.Time) (string, string, int64) {
	if base == "" {
		base = DefaultCDNBase
	}
	if window <= 0 {
		window = 5 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	p := akamai.Path(handle)
	return strings.TrimRight(base, "/"), "/" + strings.Trim(p, "/") + "/", now().Add(window).Unix()
}
