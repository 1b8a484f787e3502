package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
)

const (
	sessionCookie = "satchel_dashboard"
	signinCookie  = "satchel_dashboard_signin"
	cookiePath    = "/dashboard/"
	// sessionKeySetting names the HMAC key of session cookies in the
	// settings table, shared by every node.
	sessionKeySetting = "dashboard_session_key"
)

// session is what the signed cookie carries. It is opaque to the browser:
// the payload is signed with a key kept in the store, so every node can
// check it and nobody else can forge one.
type session struct {
	// Kind is "project" (signed in with a project's keys) or "admin".
	Kind string `json:"k"`
	// Project is the project of a project session.
	Project int64 `json:"p,omitempty"`
	// Fingerprint ties the session to the credential it was opened with:
	// rotating the secret key or changing the admin token ends it.
	Fingerprint string `json:"f"`
	// ID is random per sign-in; CSRF tokens derive from it.
	ID      string `json:"s"`
	Expires int64  `json:"e"`
}

// sessionKey returns the cookie signing key, creating it on first use.
func (h *Handler) sessionKey(ctx context.Context) ([]byte, error) {
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	if h.key != nil {
		return h.key, nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("dashboard: random: %w", err)
	}
	v, err := h.app.Store.SetSettingIfAbsent(ctx, sessionKeySetting, hex.EncodeToString(raw[:]))
	if err != nil {
		return nil, fmt.Errorf("dashboard: session key: %w", err)
	}
	k, err := hex.DecodeString(v)
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("dashboard: session key: bad value")
	}
	h.key = k
	return k, nil
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// projectFingerprint and adminFingerprint bind a session to a credential
// without putting the credential in the cookie.
func projectFingerprint(key []byte, p *satchel.Project) string {
	return hex.EncodeToString(mac(key, "project", strconv.FormatInt(p.ID, 10), p.SecretKey)[:16])
}

func adminFingerprint(key []byte, token string) string {
	return hex.EncodeToString(mac(key, "admin", token)[:16])
}

func randomID() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *session) encode(key []byte) string {
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(mac(key, "session", p))
}

func decodeSession(key []byte, v string) (*session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, "session", p)) {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, false
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil || s.ID == "" || time.Now().Unix() >= s.Expires {
		return nil, false
	}
	return &s, true
}

// csrfToken is the per-session token every form carries.
func csrfToken(key []byte, s *session) string {
	return base64.RawURLEncoding.EncodeToString(mac(key, "csrf", s.ID))
}

func validCSRF(key []byte, s *session, got string) bool {
	want := csrfToken(key, s)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie writes a dashboard cookie: HttpOnly, SameSite=Lax, Secure when
// the browser reached us over TLS, scoped to /dashboard/.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int, strict bool) {
	ss := http.SameSiteLaxMode
	if strict {
		ss = http.SameSiteStrictMode
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: ss, Secure: httpx.Secure(r, h.cfg.TrustedProxies),
	})
}

// startSession signs the browser in.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, key []byte, s *session) {
	s.ID = randomID()
	s.Expires = time.Now().Add(h.cfg.SessionTTL).Unix()
	h.setCookie(w, r, sessionCookie, s.encode(key), int(h.cfg.SessionTTL/time.Second), false)
	h.setCookie(w, r, signinCookie, "", -1, true)
}

// currentSession returns the valid session of the request, or nil. A
// session whose credential changed since sign-in is not valid.
func (h *Handler) currentSession(r *http.Request, key []byte) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, ok := decodeSession(key, c.Value)
	if !ok {
		return nil
	}
	switch s.Kind {
	case "admin":
		if h.cfg.AdminToken == "" || s.Fingerprint != adminFingerprint(key, h.cfg.AdminToken) {
			return nil
		}
	case "project":
		p, err := h.app.Store.ProjectByID(r.Context(), s.Project)
		if err != nil || s.Fingerprint != projectFingerprint(key, p) {
			return nil
		}
	default:
		return nil
	}
	return s
}
