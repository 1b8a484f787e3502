// Package jsonapi serves the JSON:API v1 dialect under /api/v1/: files,
// groups and webhooks of a project addressed by their own ids ("f-…",
// "g-…"), with per-resource access tokens ("fat-…", "gat-…"), anonymous and
// chunked uploads, expiry and protected originals. It parses requests and
// renders responses only: every change goes through the app services the
// Upload and REST APIs use. See docs/jsonapi.md.
package jsonapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/internal/httpx"
)

// Config shapes the dialect.
type Config struct {
	// PublicURL is the absolute base of links (CDN and chunk URLs); derived
	// from each request when empty.
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

// New returns a Handler on the app services.
func New(a *app.App, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{app: a, cfg: cfg, log: log}
}

// Prefix is where the dialect is served.
const Prefix = "/api/v1/"

// Register adds the dialect's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	const p = "/api/v1/projects/{project}/"
	mux.HandleFunc("GET "+p+"files.json", h.listFiles)
	mux.HandleFunc("POST "+p+"files.json", h.createFile)
	mux.HandleFunc("GET "+p+"files/{id}", h.showFile)
	mux.HandleFunc("PUT "+p+"files/{id}", h.updateFile)
	mux.HandleFunc("PATCH "+p+"files/{id}", h.updateFile)
	mux.HandleFunc("DELETE "+p+"files/{id}", h.deleteFile)
	mux.HandleFunc("GET "+p+"groups.json", h.listGroups)
	mux.HandleFunc("POST "+p+"groups.json", h.createGroup)
	mux.HandleFunc("GET "+p+"groups/{id}", h.showGroup)
	mux.HandleFunc("GET "+p+"webhooks.json", h.listWebhooks)
	mux.HandleFunc("POST "+p+"webhooks.json", h.createWebhook)
	mux.HandleFunc("GET "+p+"webhooks/{id}", h.showWebhook)
	mux.HandleFunc("PUT "+p+"webhooks/{id}", h.updateWebhook)
	mux.HandleFunc("PATCH "+p+"webhooks/{id}", h.updateWebhook)
	mux.HandleFunc("DELETE "+p+"webhooks/{id}", h.deleteWebhook)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		mux.HandleFunc(m+" "+Prefix, func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errNotFound) })
	}
}

// Id and token prefixes.
const (
	prefixFile       = "f-"
	prefixGroup      = "g-"
	prefixWebhook    = "w-"
	prefixFileToken  = "fat-"
	prefixGroupToken = "gat-"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix and 22 random base62 characters (about 131 bits).
func newID(prefix string) string {
	var b [22]byte
	max := big.NewInt(62)
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("jsonapi: random: %v", err))
		}
		b[i] = base62[n.Int64()]
	}
	return prefix + string(b[:])
}

// validID reports whether s is prefix and 22 base62 characters.
func validID(s, prefix string) bool {
	if len(s) != len(prefix)+22 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range []byte(s[len(prefix):]) {
		if strings.IndexByte(base62, c) < 0 {
			return false
		}
	}
	return true
}

// derivedFileID is the id of a file that was not created through the
// dialect (Upload API, REST API): f- and its UUID's 128 bits in base62,
// left-padded to 22 characters. It is stable and resolvable without a
// record; the record is made when the id is first used (see fileByDerivedID).
func derivedFileID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	n := new(big.Int).SetBytes(u[:])
	var b [22]byte
	base := big.NewInt(62)
	m := new(big.Int)
	for i := len(b) - 1; i >= 0; i-- {
		n.DivMod(n, base, m)
		b[i] = base62[m.Int64()]
	}
	return prefixFile + string(b[:]), true
}

// derivedUUID is the UUID a derived file id stands for.
func derivedUUID(id string) (string, bool) {
	if !validID(id, prefixFile) {
		return "", false
	}
	n := new(big.Int)
	for _, c := range []byte(id[len(prefixFile):]) {
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(strings.IndexByte(base62, c))))
	}
	if n.BitLen() > 128 {
		return "", false
	}
	var u uuid.UUID
	n.FillBytes(u[:])
	s := u.String()
	return s, satchel.ValidUUID(s)
}

// hashToken is how access tokens are stored: hex SHA-256.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// caller is who a request comes from.
type caller struct {
	p *satchel.Project
	// secret is set when the request carries the project's secret key.
	secret bool
	// token is the access token presented, and res its resource.
	token string
	res   *satchel.Resource
}

var (
	errNotFound       = satchel.Errorf(satchel.KindNotFound, reasonNotFound, "Not found.")
	errSecretRequired = satchel.Errorf(satchel.KindUnauthorized, reasonSecretRequired, "This request needs the project's secret key (Authorization: Bearer <secret>).")
	errCredentials    = satchel.Errorf(satchel.KindUnauthorized, reasonCredentials, "Invalid credentials.")
)

// authenticate resolves the project of the path and the caller's
// credentials. A token of another project, or an unknown token, is
// answered as a missing resource, so ids cannot be probed with it.
func (h *Handler) authenticate(r *http.Request) (*caller, error) {
	p, err := h.app.LookupProject(r.Context(), r.PathValue("project"), "project_id")
	if err != nil {
		return nil, err
	}
	c := &caller{p: p}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if auth != "" {
		scheme, cred, _ := strings.Cut(auth, " ")
		cred = strings.TrimSpace(cred)
		if !strings.EqualFold(scheme, "Bearer") || cred == "" {
			return nil, errCredentials
		}
		switch {
		case strings.HasPrefix(cred, prefixFileToken) || strings.HasPrefix(cred, prefixGroupToken):
			res, err := h.app.Store.ResourceByToken(r.Context(), hashToken(cred))
			if satchel.IsNotFound(err) {
				return nil, errNotFound
			}
			if err != nil {
				return nil, fmt.Errorf("jsonapi: token: %w", err)
			}
			// The lookup is by hash; compare in constant time all the same.
			if subtle.ConstantTimeCompare([]byte(res.TokenHash), []byte(hashToken(cred))) != 1 || res.ProjectID != p.ID {
				return nil, errNotFound
			}
			c.token, c.res = cred, res
		default:
			if subtle.ConstantTimeCompare([]byte(cred), []byte(p.SecretKey)) != 1 {
				return nil, errCredentials
			}
			c.secret = true
		}
	}
	if err := h.app.Throttle(p.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// resource loads the resource of kind named by the path's id, which the
// caller must hold: the secret reaches every resource of the project, a
// token only its own. Anything else is not found.
func (h *Handler) resource(r *http.Request, c *caller, kind, prefix string) (*satchel.Resource, error) {
	id := strings.TrimSuffix(r.PathValue("id"), ".json")
	if !c.secret && c.res == nil {
		return nil, errSecretRequired
	}
	if !validID(id, prefix) {
		return nil, errNotFound
	}
	if !c.secret && (c.res.ID != id || c.res.Kind != kind) {
		return nil, errNotFound
	}
	res, err := h.app.Store.Resource(r.Context(), c.p.ID, id)
	if satchel.IsNotFound(err) && kind == satchel.ResourceFile {
		res, err = h.fileByDerivedID(r.Context(), c.p, id)
	}
	if satchel.IsNotFound(err) || (err == nil && (res.Kind != kind || res.Removed != nil)) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("jsonapi: resource: %w", err)
	}
	return res, nil
}

// fileByDerivedID resolves the derived id of a live file of p that has no
// resource yet, and records the resource (without a token: only the
// secret reaches it). A file that has a resource answers only to its id.
func (h *Handler) fileByDerivedID(ctx context.Context, p *satchel.Project, id string) (*satchel.Resource, error) {
	target, ok := derivedUUID(id)
	if !ok {
		return nil, satchel.ErrNotFound
	}
	f, err := h.app.Store.File(ctx, p.ID, target)
	if err != nil {
		return nil, err
	}
	if f.Removed != nil {
		return nil, satchel.ErrNotFound
	}
	if _, err := h.app.Store.ResourceByTarget(ctx, p.ID, satchel.ResourceFile, target); !satchel.IsNotFound(err) {
		if err == nil {
			err = satchel.ErrNotFound
		}
		return nil, err
	}
	res := &satchel.Resource{ID: id, ProjectID: p.ID, Kind: satchel.ResourceFile, Target: target, State: "{}", Created: f.Uploaded}
	err = h.app.Store.CreateResource(ctx, res)
	if errors.Is(err, satchel.ErrConflict) {
		// Recorded meanwhile by another request.
		return h.app.Store.Resource(ctx, p.ID, id)
	}
	if err != nil {
		return nil, fmt.Errorf("jsonapi: record file id: %w", err)
	}
	return res, nil
}

// mayCreate checks that the caller may create resources: the secret, or
// anyone when the project accepts anonymous uploads, within the project's
// anonymous rate for the client's address.
func (h *Handler) mayCreate(r *http.Request, c *caller) error {
	if c.secret {
		return nil
	}
	if !c.p.AnonymousUploads {
		return errSecretRequired
	}
	ip, _ := httpx.ClientIP(r, h.cfg.TrustedProxies)
	return h.app.ThrottleAnonymous(c.p, ip)
}

// newResource records a new resource with a fresh id and, for files and
// groups, a fresh access token (returned; only its hash is kept).
func (h *Handler) newResource(ctx context.Context, p *satchel.Project, kind, target string, state any) (*satchel.Resource, string, error) {
	var prefix, tokenPrefix string
	switch kind {
	case satchel.ResourceFile:
		prefix, tokenPrefix = prefixFile, prefixFileToken
	case satchel.ResourceGroup:
		prefix, tokenPrefix = prefixGroup, prefixGroupToken
	default:
		prefix = prefixWebhook
	}
	res := &satchel.Resource{ID: newID(prefix), ProjectID: p.ID, Kind: kind, Target: target, State: mustState(state)}
	token := ""
	if tokenPrefix != "" {
		token = newID(tokenPrefix)
		res.TokenHash = hashToken(token)
	}
	if err := h.app.Store.CreateResource(ctx, res); err != nil {
		return nil, "", fmt.Errorf("jsonapi: record resource: %w", err)
	}
	return res, token, nil
}

func mustState(v any) string {
	if v == nil {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("jsonapi: marshal state: %v", err))
	}
	return string(b)
}

// page reads page and items (default 20, at most 100).
func page(r *http.Request) (pg, items int) {
	pg, items = 1, 20
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 0 {
		pg = n
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("items")); err == nil && n > 0 {
		items = min(n, 100)
	}
	return pg, items
}

// pagination is the list envelope's pagination object.
type pagination struct {
	Count int64 `json:"count"`
	Page  int   `json:"page"`
	Items int   `json:"items"`
	Pages int64 `json:"pages"`
}

func newPagination(count int64, pg, items int) pagination {
	return pagination{Count: count, Page: pg, Items: items, Pages: (count + int64(items) - 1) / int64(items)}
}

func (h *Handler) base(r *http.Request) string {
	return httpx.PublicBase(h.cfg.PublicURL, r, h.cfg.TrustedProxies)
}

// reply writes a JSON body.
func (h *Handler) reply(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		h.log.Error("jsonapi: encode", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers err as a JSON:API errors body.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	root := ""
	switch {
	case strings.Contains(r.URL.Path, "/files"):
		root = "file"
	case strings.Contains(r.URL.Path, "/webhooks"):
		root = "webhook"
	}
	e, status, obj := render(err, root)
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "jsonapi", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	h.reply(w, status, map[string]any{"errors": []errorObject{obj}})
}

func itoa(n int) string { return strconv.Itoa(n) }

// FileToken reports whether token is the access token of f: the CDN asks
// it before serving a protected original.
func (h *Handler) FileToken(ctx context.Context, f *satchel.File, token string) bool {
	if !strings.HasPrefix(token, prefixFileToken) {
		return false
	}
	res, err := h.app.Store.ResourceByToken(ctx, hashToken(token))
	if err != nil {
		return false
	}
	return res.Kind == satchel.ResourceFile && res.ProjectID == f.ProjectID && res.Target == f.UUID
}
