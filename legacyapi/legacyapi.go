// Package legacyapi serves the oldest REST dialect: requests signed like REST
// v0.5 but sent as "Authentication: UploadCare <public key>:<signature>",
// files listed, read, kept and deleted under /files/, answered in JSON or XML.
// It holds no logic of its own: the app services do the work, and this
// package only reads requests and renders answers.
package legacyapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/internal/httpx"
	"github.com/satchel-project/satchel/internal/signing"
)

// Config shapes the dialect.
type Config struct {
	// PublicURL is the absolute base of links; derived from each request when empty.
	PublicURL string
	// TrustedProxies may set X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
}

// Handler serves the dialect.
type Handler struct {
	app *app.App
	cfg Config
	log *slog.Logger
}

// New returns a Handler.
func New(a *app.App, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{app: a, cfg: cfg, log: log}
}

// maxBody caps request bodies (a keep claim is a few bytes).
const maxBody = 64 << 10

// scheme starts the dialect's Authentication header.
const scheme = "UploadCare "

// Dispatch sends the requests for /files that carry an Authentication header
// (the REST API reads Authorization) to legacy, and the others to next.
func Dispatch(legacy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authentication") != "" && (r.URL.Path == "/files" || strings.HasPrefix(r.URL.Path, "/files/")) {
			legacy.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// request is an authenticated call.
type request struct {
	*http.Request
	w       http.ResponseWriter
	project *satchel.Project
	body    []byte
	base    string
}

// Register adds the dialect's routes to mux. A path without its trailing
// slash is redirected (301) to the slashed one; any other path is not found.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /files/{$}", h.wrap(h.listFiles))
	mux.Handle("GET /files/{uuid}/{$}", h.wrap(h.fileInfo))
	mux.Handle("POST /files/{uuid}/{$}", h.wrap(h.keepFile))
	mux.Handle("DELETE /files/{uuid}/{$}", h.wrap(h.deleteFile))
	mux.HandleFunc("/files", slash)
	mux.HandleFunc("/files/{uuid}", slash)
	mux.Handle("/files/", h.wrap(func(*request) error { return errNotFound }))
}

// slash redirects to the path with its trailing slash.
func slash(w http.ResponseWriter, r *http.Request) {
	u := *r.URL
	u.Path += "/"
	u.RawPath = ""
	w.Header().Set("Location", u.RequestURI())
	w.WriteHeader(http.StatusMovedPermanently)
}

func (h *Handler) wrap(fn func(*request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		r := &request{Request: hr, w: w, base: httpx.PublicBase(h.cfg.PublicURL, hr, h.cfg.TrustedProxies)}
		err := h.read(r)
		if err == nil {
			err = fn(r)
		}
		if err != nil {
			h.writeError(r, err)
		}
	})
}

// read reads the body and authenticates the request.
func (h *Handler) read(r *request) error {
	body, err := io.ReadAll(http.MaxBytesReader(r.w, r.Body, maxBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return satchel.Errorf(satchel.KindTooLarge, "", "Request body is too large.")
	} else if err != nil {
		return satchel.Errorf(satchel.KindInvalid, "", "Could not read the request body.")
	}
	r.body = body
	cred, ok := strings.CutPrefix(r.Header.Get("Authentication"), scheme)
	pub, sig, signed := strings.Cut(cred, ":")
	if !ok || !signed || pub == "" || sig == "" {
		return satchel.Errorf(satchel.KindUnauthorized, "", "Authentication header must be \"UploadCare <public key>:<signature>\".")
	}
	date, err := signing.Date(r.Request)
	if err != nil {
		return err
	}
	if r.project, err = h.app.LookupProject(r.Context(), pub, "public key"); err != nil {
		return err
	}
	if err := signing.Check(r.Request, body, date, r.project.SecretKey, sig); err != nil {
		return err
	}
	return h.app.Throttle(r.project.ID)
}
