package restapi

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
	"github.com/satchel-project/satchel/internal/signing"
)

// DateWindow is how far a signed request's date may be from server time.
const DateWindow = signing.DateWindow

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
		date, err := signing.Date(r)
		if err != nil {
			return nil, err
		}
		p, err := h.project(r, pub)
		if err != nil {
			return nil, err
		}
		if err := signing.Check(r, body, date, p.SecretKey, cred); err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, unauthorized("Incorrect authentication credentials.")
}

// Signature is the signed-request HMAC-SHA1 over the request's parts.
func Signature(secret, method string, body []byte, contentType, date, uri string) string {
	return signing.Signature(secret, method, body, contentType, date, uri)
}

// ParseDate parses the date formats clients send in Date/X-Uploadcare-Date.
func ParseDate(s string) (time.Time, bool) { return signing.ParseDate(s) }

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
