package restapi

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
)

// DateWindow is how far a signed request's date may be from server time.
const DateWindow = 15 * time.Minute

func unauthorized(msg string, args ...any) error {
	return satchel.Errorf(satchel.KindUnauthorized, "", msg, args...)
}

// authenticate resolves the project of a request from its Authorization
// header, then charges the request to the project's rate limit: calls that
// fail authentication never spend the owner's limit.
func (h *Handler) authenticate(r *http.Request, body []byte) (*satchel.Project, error) {
	p, err := h.credentials(r, body)
	if err != nil {
		return nil, err
	}
	if err := h.app.Throttle(p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

// credentials checks a request's Authorization header and returns its project.
func (h *Handler) credentials(r *http.Request, body []byte) (*satchel.Project, error) {
	auth := r.Header.Get("Authorization")
	scheme, param, ok := strings.Cut(auth, " ")
	if !ok {
		return nil, unauthorized("Incorrect authentication credentials.")
	}
	pub, cred, ok := strings.Cut(strings.TrimSpace(param), ":")
	if !ok || pub == "" || cred == "" {
		return nil, unauthorized("Incorrect authentication credentials.")
	}
	switch scheme {
	case "Uploadcare.Simple":
		if !h.simpleAllowed(r) {
			return nil, satchel.Errorf(satchel.KindForbidden, reasonSimpleAuthOverHTTP, "Simple authentication over HTTP is forbidden. Please, use HTTPS or signed requests instead.")
		}
		p, err := h.project(r, pub)
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare([]byte(cred), []byte(p.SecretKey)) != 1 {
			return nil, unauthorized("Incorrect authentication credentials.")
		}
		return p, nil
	case "Uploadcare":
		dateHeader := r.Header.Get("X-Uploadcare-Date")
		if dateHeader == "" {
			dateHeader = r.Header.Get("Date")
		}
		t, ok := ParseDate(dateHeader)
		if !ok {
			return nil, unauthorized("Incorrect authentication credentials.")
		}
		if d := time.Since(t); d > DateWindow || d < -DateWindow {
			return nil, unauthorized("Incorrect authentication credentials.")
		}
		p, err := h.project(r, pub)
		if err != nil {
			return nil, err
		}
		ct := r.Header.Get("Content-Type")
		for _, uri := range signedURIs(r) {
			want := Signature(p.SecretKey, r.Method, body, ct, dateHeader, uri)
			if hmac.Equal([]byte(want), []byte(strings.ToLower(cred))) {
				return p, nil
			}
		}
		return nil, unauthorized("Invalid signature. Please check your Secret key.")
	}
	return nil, unauthorized("Incorrect authentication credentials.")
}

// signedURIs are the request-URI spellings clients sign: the raw one on the
// wire, and the decoded path with the raw query (what the Go client signs).
func signedURIs(r *http.Request) []string {
	raw := r.RequestURI
	if raw == "" || strings.HasPrefix(raw, "http") {
		raw = r.URL.RequestURI()
	}
	dec := r.URL.Path
	if r.URL.RawQuery != "" {
		dec += "?" + r.URL.RawQuery
	}
	if dec == raw {
		return []string{raw}
	}
	if p, err := url.PathUnescape(r.URL.EscapedPath()); err == nil && p != r.URL.Path {
		return []string{raw, dec, p}
	}
	return []string{raw, dec}
}

// Signature is the signed-request HMAC-SHA1 over the request's parts.
func Signature(secret, method string, body []byte, contentType, date, uri string) string {
	sum := md5.Sum(body)
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(strings.ToUpper(method) + "\n" + hex.EncodeToString(sum[:]) + "\n" + contentType + "\n" + date + "\n" + uri))
	return hex.EncodeToString(m.Sum(nil))
}

var dateLayouts = []string{
	time.RFC1123,
	"Mon, 02 Jan 2006, 15:04:05 GMT", // pyuploadcare
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	time.RFC850,
	time.ANSIC,
}

// ParseDate parses the date formats clients send in Date/X-Uploadcare-Date.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (h *Handler) simpleAllowed(r *http.Request) bool {
	if h.secure(r) {
		return true
	}
	switch h.cfg.SimpleAuthOverHTTP {
	case "always":
		return true
	case "never":
		return false
	}
	ip, ok := httpx.RemoteIP(r)
	return ok && ip.IsLoopback()
}

// project looks a project up by public key (its rate limit is charged only
// once the request is authenticated).
func (h *Handler) project(r *http.Request, pub string) (*satchel.Project, error) {
	p, err := h.app.LookupProject(r.Context(), pub, "pub_key")
	if err != nil {
		if e := satchel.AsError(err); e.Reason == satchel.ReasonKeyInvalid {
			return nil, unauthorized("Public key %s not found.", pub)
		}
		return nil, err
	}
	return p, nil
}
