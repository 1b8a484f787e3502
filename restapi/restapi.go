// Package restapi serves the Uploadcare REST API (v0.5–v0.7): authentication
// (Uploadcare.Simple and signed Uploadcare), version negotiation, files,
// groups, project, metadata, tags and webhook subscriptions.
package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/internal/httpx"
)

// Config shapes the REST API.
type Config struct {
	// PublicURL is the absolute base of links; derived from each request when empty.
	PublicURL string
	// DefaultVersion answers requests without a versioned Accept header.
	DefaultVersion string
	// SimpleAuthOverHTTP: "always", "never", or "loopback" (default: only
	// clients connecting from a loopback address may use Uploadcare.Simple
	// over plain HTTP).
	SimpleAuthOverHTTP string
	// TrustedProxies may set X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// MaxBody caps request bodies.
	MaxBody int64
}

// Handler serves the REST API.
type Handler struct {
	app *app.App
	cfg Config
	log *slog.Logger
}

// DefaultSimpleAuthOverHTTP applies when Config.SimpleAuthOverHTTP is empty.
const DefaultSimpleAuthOverHTTP = "loopback"

// New returns a Handler.
func New(a *app.App, cfg Config, log *slog.Logger) *Handler {
	if cfg.DefaultVersion == "" {
		cfg.DefaultVersion = apiview.V07
	}
	if cfg.SimpleAuthOverHTTP == "" {
		cfg.SimpleAuthOverHTTP = DefaultSimpleAuthOverHTTP
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{app: a, cfg: cfg, log: log}
}

// request is an authenticated REST call.
type request struct {
	*http.Request
	w       http.ResponseWriter
	version string
	project *satchel.Project
	body    []byte
	bases   apiview.Bases
}

type handlerFunc func(r *request) error

// route describes one endpoint and the versions that have it.
type route struct {
	pattern  string
	versions string // e.g. "567", "67", "7"
	fn       handlerFunc
}

// Register adds the REST routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	routes := []route{
		{"GET /files/{$}", "567", h.listFiles},
		{"GET /files/{uuid}/{$}", "567", h.fileInfo},
		{"DELETE /files/{uuid}/{$}", "56", h.deleteFile},
		{"PUT /files/{uuid}/storage/{$}", "567", h.storeFile},
		{"DELETE /files/{uuid}/storage/{$}", "567", h.deleteFile},
		{"PUT /files/storage/{$}", "567", h.batchStore},
		{"DELETE /files/storage/{$}", "567", h.batchDelete},
		{"POST /files/local_copy/{$}", "67", h.localCopy},
		{"POST /files/remote_copy/{$}", "67", h.remoteCopy},
		{"POST /files/search/{$}", "7", h.searchFiles},
		{"GET /files/{uuid}/metadata/{$}", "7", h.metadata},
		{"GET /files/{uuid}/metadata/{key}/{$}", "7", h.metadataKey},
		{"PUT /files/{uuid}/metadata/{key}/{$}", "7", h.setMetadataKey},
		{"DELETE /files/{uuid}/metadata/{key}/{$}", "7", h.deleteMetadataKey},
		{"GET /files/{uuid}/tags/{$}", "7", h.tags},
		{"PUT /files/{uuid}/tags/{$}", "7", h.replaceTags},
		{"PATCH /files/{uuid}/tags/{$}", "7", h.patchTags},
		{"GET /groups/{$}", "567", h.listGroups},
		{"GET /groups/{id}/{$}", "567", h.groupInfo},
		{"DELETE /groups/{id}/{$}", "7", h.deleteGroup},
		{"PUT /groups/{id}/storage/{$}", "56", h.storeGroup},
		{"GET /project/{$}", "567", h.projectInfo},
		{"GET /webhooks/{$}", "567", h.listWebhooks},
		{"POST /webhooks/{$}", "567", h.createWebhook},
		{"POST /webhooks/create/{$}", "567", h.createWebhook},
		{"PUT /webhooks/{id}/{$}", "567", h.updateWebhook},
		{"DELETE /webhooks/{id}/{$}", "567", h.deleteWebhook},
		{"DELETE /webhooks/unsubscribe/{$}", "567", h.unsubscribeWebhook},
		{"POST /addons/{name}/execute/{$}", "7", h.executeAddon},
		{"GET /addons/{name}/execute/status/{$}", "7", h.addonStatus},
		{"POST /convert/document/{$}", "567", h.convertDocument},
		{"GET /convert/document/{uuid}/{$}", "567", h.documentInfo},
		{"GET /convert/document/status/{token}/{$}", "567", h.documentStatus},
		{"POST /convert/video/{$}", "567", h.convertVideo},
		{"GET /convert/video/status/{token}/{$}", "567", h.videoStatus},
		// The official Go client asks for a video's status with POST.
		{"POST /convert/video/status/{token}/{$}", "567", h.videoStatus},
	}
	patterns := map[string]bool{}
	for _, rt := range routes {
		mux.Handle(rt.pattern, h.wrap(rt))
		patterns[rt.pattern] = true
	}
	h.registerFallbacks(mux, patterns)
}

// fallbackRoots are the paths under which every request is a REST call.
var fallbackRoots = []string{"/files/", "/groups/", "/project/", "/webhooks/", "/addons/", "/convert/"}

// fallbackMethods are the methods the fallbacks take: GET belongs to the
// CDN's catch-all.
var fallbackMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// registerFallbacks answers the REST requests no route takes (an unknown
// path, or a method the path does not have) in the API's own format: a JSON
// detail with the version's content type, 405 with Allow when the path has
// other methods, 404 otherwise. The mux's text/plain answers are not JSON,
// which the JS REST client needs to report the error.
func (h *Handler) registerFallbacks(mux *http.ServeMux, patterns map[string]bool) {
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := h.negotiate(r)
		if !ok {
			v = ""
		}
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); m != r.Method && patterns[pattern] {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			writeDetail(w, v, http.StatusNotFound, "Not found.")
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeDetail(w, v, http.StatusMethodNotAllowed, fmt.Sprintf("Method %q not allowed.", r.Method))
	})
	for _, root := range fallbackRoots {
		for _, m := range fallbackMethods {
			mux.Handle(m+" "+root, fallback)
		}
	}
}

var acceptRe = regexp.MustCompile(`application/vnd\.uploadcare-v(\d+\.\d+)\+json`)

// negotiate picks the API version from Accept.
func (h *Handler) negotiate(r *http.Request) (string, bool) {
	acc := r.Header.Get("Accept")
	if m := acceptRe.FindStringSubmatch(acc); m != nil {
		switch m[1] {
		case apiview.V05, apiview.V06, apiview.V07:
			return m[1], true
		}
		return "", false
	}
	if acc == "" || strings.Contains(acc, "*/*") || strings.Contains(acc, "application/json") {
		return h.cfg.DefaultVersion, true
	}
	return "", false
}

func contentType(version string) string {
	if version == "" {
		return "application/json"
	}
	return "application/vnd.uploadcare-v" + version + "+json"
}

func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		v, ok := h.negotiate(hr)
		if !ok {
			writeDetail(w, "", http.StatusNotAcceptable, "Incorrect Accept header provided. Make sure to specify API version. Refer to REST API docs for details.")
			return
		}
		if !strings.Contains(rt.versions, v[len(v)-1:]) {
			writeDetail(w, v, http.StatusNotFound, "Not found.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, h.cfg.MaxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeDetail(w, v, http.StatusRequestEntityTooLarge, "Request body is too large.")
				return
			}
			writeDetail(w, v, http.StatusBadRequest, "Could not read the request body.")
			return
		}
		r := &request{Request: hr, w: w, version: v, body: body}
		p, err := h.authenticate(hr, body)
		if err != nil {
			h.writeError(r, err)
			return
		}
		r.project = p
		base := h.base(hr)
		r.bases = apiview.Bases{CDN: base, API: base}
		if err := rt.fn(r); err != nil {
			h.writeError(r, err)
		}
	})
}

func (h *Handler) base(r *http.Request) string {
	return httpx.PublicBase(h.cfg.PublicURL, r, h.cfg.TrustedProxies)
}

// secure reports whether the client reached us over TLS.
func (h *Handler) secure(r *http.Request) bool { return httpx.Secure(r, h.cfg.TrustedProxies) }

// writeDetail writes {"detail": msg} with the exact content type clients expect.
func writeDetail(w http.ResponseWriter, version string, status int, msg string) {
	w.Header().Set("Content-Type", contentType(version))
	w.Header().Set("Vary", "Accept")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"detail": msg})
}

func (h *Handler) writeError(r *request, err error) {
	e, row, detail := render(err)
	if row.status >= 500 {
		h.log.ErrorContext(r.Context(), "rest api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.RetryAfter > 0 {
		r.w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	if row.nonField {
		r.w.Header().Set("Content-Type", contentType(r.version))
		r.w.WriteHeader(row.status)
		json.NewEncoder(r.w).Encode(map[string]any{"detail": detail, "non_field_errors": []string{detail}})
		return
	}
	writeDetail(r.w, r.version, row.status, detail)
}

// reply writes a JSON body with the version's content type.
func (r *request) reply(status int, v any) error {
	body, ok := v.(json.RawMessage)
	if !ok {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			return fmt.Errorf("restapi: encode: %w", err)
		}
		body = buf.Bytes()
	}
	r.w.Header().Set("Content-Type", contentType(r.version))
	r.w.Header().Set("Vary", "Accept")
	r.w.WriteHeader(status)
	// A failed write means the client went away: the status is sent, so no
	// error answer can follow it (it would be a second WriteHeader).
	_, _ = r.w.Write(body)
	return nil
}

func (r *request) noContent() error {
	r.w.WriteHeader(http.StatusNoContent)
	return nil
}

// badRequest is a 400 with a detail message.
func badRequest(format string, args ...any) error {
	return satchel.Errorf(satchel.KindInvalid, "", format, args...)
}

func notFound() error { return satchel.Errorf(satchel.KindNotFound, "", "Not found.") }
