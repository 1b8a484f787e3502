// Package cdn serves file delivery: originals by UUID with Range, ETag and
// safe headers; image operations through the imaging engine with a variant
// cache; group members, group archives and info endpoints; and secure
// delivery tokens for projects that require them.
package cdn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/metrics"
	"github.com/satchel-project/satchel/securetoken"
	"github.com/satchel-project/satchel/ucare/cdnurl"
	"github.com/satchel-project/satchel/variantcache"
)

// Store is what the CDN reads: files, their projects and groups.
type Store interface {
	satchel.FileReader
	ProjectByID(ctx context.Context, id int64) (*satchel.Project, error)
	Group(ctx context.Context, projectID int64, id string) (*satchel.Group, error)
}

// Handler serves CDN URLs.
type Handler struct {
	Store  Store
	Bucket blobstore.Bucket
	Log    *slog.Logger
	// MaxAge is the Cache-Control max-age in seconds.
	MaxAge int
	// Engine applies image operations; nil answers them with an error.
	Engine *imaging.Engine
	// Variants caches derived images; required with Engine.
	Variants *variantcache.Cache
	// Shared, when set, also keeps variants in the blob store for other nodes.
	Shared *SharedVariants
	// Metrics, when set, records image operations and variant cache lookups.
	Metrics *metrics.Metrics
	// FileToken, when set, reports whether token is the access token of f
	// (a JSON:API v1 "fat-…" token): it opens a protected original.
	FileToken func(ctx context.Context, f *satchel.File, token string) bool

	// MetaCacheSize bounds how many files (and, separately, projects) the
	// metadata cache keeps; 0 means DefaultMetaCacheSize.
	MetaCacheSize int
	// MetaCacheTTL is how long a cached file or project is served without
	// asking the store again; 0 means DefaultMetaCacheTTL.
	MetaCacheTTL time.Duration

	cacheOnce sync.Once
	files     *metaCache[*satchel.File]
	projects  *metaCache[*satchel.Project]
}

// Metadata cache defaults.
const (
	// DefaultMetaCacheSize is the default number of entries of each
	// metadata cache.
	DefaultMetaCacheSize = 10000
	// DefaultMetaCacheTTL bounds how long a node serves a file or project it
	// looked up without asking the store again: deletes and project changes
	// made through another node reach this one within it.
	DefaultMetaCacheTTL = 2 * time.Second
)

// caches makes the metadata caches on first use.
func (h *Handler) caches() {
	h.cacheOnce.Do(func() {
		size, ttl := h.MetaCacheSize, h.MetaCacheTTL
		if size <= 0 {
			size = DefaultMetaCacheSize
		}
		if ttl <= 0 {
			ttl = DefaultMetaCacheTTL
		}
		h.files = newMetaCache[*satchel.File](size, ttl)
		h.projects = newMetaCache[*satchel.Project](size, ttl)
	})
}

// MetaCacheLen reports how many files and projects the metadata cache
// holds, for monitoring.
func (h *Handler) MetaCacheLen() (files, projects int) {
	h.caches()
	return h.files.lru.Len(), h.projects.lru.Len()
}

// metaCache keeps the delivery hot path free of store queries: a bounded
// LRU whose entries expire, with concurrent loads of one key collapsed into
// one store query. Only hits are kept: a miss (a file not uploaded yet, a
// random UUID) is asked of the store again next time, so a file is served as
// soon as its upload completes, on every node, and misses cost no memory.
type metaCache[T any] struct {
	lru   *expirable.LRU[string, T]
	loads singleflight.Group
	// gen changes whenever a key is forgotten, so that a load that started
	// before a purge does not put the purged value back.
	gen atomic.Uint64
}

func newMetaCache[T any](size int, ttl time.Duration) *metaCache[T] {
	return &metaCache[T]{lru: expirable.NewLRU[string, T](size, nil, ttl)}
}

// get returns the cached value of key or loads it. The load runs detached
// from ctx, since other requests may be waiting for it; ctx only bounds how
// long this caller waits.
func (c *metaCache[T]) get(ctx context.Context, key string, load func(context.Context) (T, error)) (T, error) {
	if v, ok := c.lru.Get(key); ok {
		return v, nil
	}
	ch := c.loads.DoChan(key, func() (any, error) {
		gen := c.gen.Load()
		v, err := load(context.WithoutCancel(ctx))
		if err == nil && c.gen.Load() == gen {
			c.lru.Add(key, v)
		}
		return v, err
	})
	select {
	case res := <-ch:
		v, _ := res.Val.(T)
		return v, res.Err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (c *metaCache[T]) forget(key string) {
	c.gen.Add(1)
	c.lru.Remove(key)
	c.loads.Forget(key)
}

// Purge forgets a file and its variants on this node (after a delete).
func (h *Handler) Purge(uuid string) {
	h.caches()
	h.files.forget(uuid)
	if h.Variants != nil {
		if err := h.Variants.Purge(uuid); err != nil {
			h.Log.Warn("purge variants", "uuid", uuid, "err", err)
		}
	}
	if h.Shared != nil {
		if err := h.Shared.Purge(context.Background(), uuid); err != nil {
			h.Log.Warn("purge shared variants", "uuid", uuid, "err", err)
		}
	}
}

// inlineTypes are served inline by default: media a browser renders safely.
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/bmp": true, "image/heic": true, "image/heif": true,
	"video/mp4": true, "video/webm": true, "audio/mpeg": true, "application/pdf": true,
}

// activeType can run script in a browser: such answers get a sandboxing CSP.
func activeType(m string) bool {
	return strings.Contains(m, "html") || strings.Contains(m, "svg") || strings.Contains(m, "xml") || strings.Contains(m, "javascript")
}

func (h *Handler) fail(w http.ResponseWriter, status int, msg string) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Del("Content-Disposition")
	hd.Del("ETag")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func (h *Handler) file(ctx context.Context, id string) (*satchel.File, error) {
	h.caches()
	return h.files.get(ctx, id, func(ctx context.Context) (*satchel.File, error) { return h.Store.File(ctx, 0, id) })
}

func (h *Handler) project(ctx context.Context, id int64) (*satchel.Project, error) {
	h.caches()
	return h.projects.get(ctx, strconv.FormatInt(id, 10), func(ctx context.Context) (*satchel.Project, error) { return h.Store.ProjectByID(ctx, id) })
}

// ServeHTTP serves every CDN path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !satchel.ValidUUID(first) && !satchel.ValidGroupID(first) {
		h.fail(w, http.StatusNotFound, "Not found.")
		return
	}
	t, err := cdnurl.Parse(r.URL.EscapedPath())
	if err != nil {
		h.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if t.GroupID != "" {
		h.serveGroup(w, r, t)
		return
	}
	f, err := h.file(r.Context(), t.UUID)
	if !h.live(w, f, err) {
		return
	}
	if !h.authorized(w, r, f.ProjectID) {
		return
	}
	h.serveFile(w, r, f, t.Ops, t.Filename, t.Special)
}

// live answers 404/500 unless f is a live file.
func (h *Handler) live(w http.ResponseWriter, f *satchel.File, err error) bool {
	if err != nil && !satchel.IsNotFound(err) {
		h.Log.Error("cdn lookup", "err", err)
		h.fail(w, http.StatusInternalServerError, "Internal error.")
		return false
	}
	if err != nil || f == nil || f.Removed != nil {
		h.fail(w, http.StatusNotFound, "Not found.")
		return false
	}
	return true
}

// authorized checks the secure-delivery token of projects that require one.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request, projectID int64) bool {
	p, err := h.project(r.Context(), projectID)
	if err != nil {
		h.Log.Error("cdn project", "err", err)
		h.fail(w, http.StatusInternalServerError, "Internal error.")
		return false
	}
	if p.SecureDeliverySecret == "" {
		return true
	}
	tokens := tokenForms(r.URL.RawQuery)
	if len(tokens) == 0 {
		h.fail(w, http.StatusForbidden, "A delivery token is required.")
		return false
	}
	ok := false
	now := time.Now()
	for _, token := range tokens {
		if securetoken.Verify(p.SecureDeliverySecret, token, r.URL.EscapedPath(), now) == nil {
			ok = true
			break
		}
	}
	if !ok {
		h.fail(w, http.StatusForbidden, "Invalid or expired delivery token.")
		return false
	}
	// Signed answers must not be cached by shared caches beyond the token.
	w.Header().Set("Cache-Control", "private, max-age=300")
	return true
}

// tokenForms returns the spellings of the first "token" query parameter that
// may be the signed token: the raw text first, since secure URL builders put
// the token in the query unescaped and its ACL keeps "~" escaped as "%7e"
// (decoding would turn that into a field separator), then the once-decoded
// text, for clients that escape the whole value. Either must still carry a
// valid signature.
func tokenForms(rawQuery string) []string {
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "token" {
			if dk, err := url.QueryUnescape(k); err != nil || dk != "token" {
				continue
			}
		}
		if v == "" {
			return nil
		}
		forms := []string{v}
		if d, err := url.QueryUnescape(v); err == nil && d != v && d != "" {
			forms = append(forms, d)
		}
		return forms
	}
	return nil
}

func (h *Handler) serveGroup(w http.ResponseWriter, r *http.Request, t *cdnurl.Target) {
	g, err := h.Store.Group(r.Context(), 0, t.GroupID)
	if err != nil || g.Removed != nil {
		if err != nil && !satchel.IsNotFound(err) {
			h.Log.Error("cdn group", "err", err)
			h.fail(w, http.StatusInternalServerError, "Internal error.")
			return
		}
		h.fail(w, http.StatusNotFound, "Not found.")
		return
	}
	if !h.authorized(w, r, g.ProjectID) {
		return
	}
	files := make([]*satchel.File, len(g.Members))
	for i, m := range g.Members {
		f, err := h.file(r.Context(), m.FileUUID)
		if err == nil && f.Removed == nil {
			files[i] = f
		}
	}
	switch {
	case t.Archive != "":
		for _, f := range files {
			if f != nil && f.OriginalProtected && !h.originalAllowed(w, r, f) {
				return
			}
		}
		h.serveArchive(w, r, g, files, t.Archive, t.Filename)
	case t.Nth >= 0:
		if t.Nth >= len(files) || files[t.Nth] == nil {
			h.fail(w, http.StatusNotFound, "Not found.")
			return
		}
		base, err := cdnurl.ParseOps(g.Members[t.Nth].DefaultEffects)
		if err != nil {
			h.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		h.serveFile(w, r, files[t.Nth], append(base, t.Ops...), t.Filename, "")
	default:
		h.serveGroupPage(w, g, files)
	}
}

// serveGroupPage lists a group's members as a small HTML page.
func (h *Handler) serveGroupPage(w http.ResponseWriter, g *satchel.Group, files []*satchel.File) {
	var b strings.Builder
	b.WriteString("<!doctype html><meta charset=utf-8><title>" + html.EscapeString(g.ID) + "</title><ol start=0>")
	for i, f := range files {
		if f == nil {
			b.WriteString("<li>(removed)</li>")
			continue
		}
		u := fmt.Sprintf("/%s/nth/%d/", g.ID, i)
		fmt.Fprintf(&b, `<li><a href="%s">%s</a></li>`, html.EscapeString(u), html.EscapeString(f.OriginalFilename))
	}
	b.WriteString("</ol>")
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", h.maxAge()))
	w.Write([]byte(b.String()))
}

// serveFile serves a file, applying operations when there are any.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, f *satchel.File, ops []cdnurl.Op, name, special string) {
	if special != "" {
		h.fail(w, http.StatusNotImplemented, special+" is not supported by this server.")
		return
	}
	inline := -1
	var imageOps []cdnurl.Op
	for _, op := range ops {
		if in, ok := op.(cdnurl.Inline); ok {
			inline = 0
			if in.On {
				inline = 1
			}
			continue
		}
		imageOps = append(imageOps, op)
	}
	if len(imageOps) == 0 {
		if f.OriginalProtected && !h.originalAllowed(w, r, f) {
			return
		}
		h.serveOriginal(w, r, f, name, inline)
		return
	}
	h.serveVariant(w, r, f, imageOps, name, inline)
}

// originalAllowed checks the right to the original bytes of a protected
// file: a secure-delivery token (already verified when the project requires
// one) or the file's access token, as "Authorization: Bearer <token>" or
// "?access_token=<token>". Such answers are not for shared caches.
func (h *Handler) originalAllowed(w http.ResponseWriter, r *http.Request, f *satchel.File) bool {
	p, err := h.project(r.Context(), f.ProjectID)
	if err != nil {
		h.Log.Error("cdn project", "err", err)
		h.fail(w, http.StatusInternalServerError, "Internal error.")
		return false
	}
	ok := p.SecureDeliverySecret != ""
	if !ok && h.FileToken != nil {
		token := r.URL.Query().Get("access_token")
		if scheme, cred, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(cred)
		}
		ok = token != "" && h.FileToken(r.Context(), f, token)
	}
	if !ok {
		h.fail(w, http.StatusForbidden, "The original of this file is protected: image operations are served, the original needs a delivery token or the file's access token.")
		return false
	}
	w.Header().Set("Cache-Control", "private, no-store")
	return true
}

func (h *Handler) serveOriginal(w http.ResponseWriter, r *http.Request, f *satchel.File, name string, inline int) {
	blob, err := h.Bucket.Open(r.Context(), f.BlobKey)
	if err != nil {
		if errors.Is(err, blobstore.ErrNotFound) {
			h.fail(w, http.StatusNotFound, "Not found.")
			return
		}
		h.Log.Error("cdn open", "uuid", f.UUID, "err", err)
		h.fail(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	defer blob.Close()
	if name == "" {
		name = f.Filename
	}
	h.headers(w, f.MimeType, `"`+etag(f)+`"`, name, inline)
	http.ServeContent(w, r, "", f.Uploaded, blob)
}

// headers sets the delivery headers shared by originals and variants.
func (h *Handler) headers(w http.ResponseWriter, ctype, tag, name string, inline int) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Content-Type", ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(h.maxAge())+", immutable")
	}
	hd.Set("ETag", tag)
	disp := "attachment"
	if inline == 1 || (inline == -1 && inlineTypes[ctype]) {
		disp = "inline"
	}
	hd.Set("Content-Disposition", disp+`; filename="`+satchel.SanitizeFilename(name)+`"`)
	if activeType(ctype) {
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
}

// acceptClass reduces Accept to what format/auto negotiation depends on.
func acceptClass(accept string) string {
	switch {
	case strings.Contains(accept, "image/avif"):
		return "avif"
	case strings.Contains(accept, "image/webp"):
		return "webp"
	}
	return "none"
}

func (h *Handler) serveVariant(w http.ResponseWriter, r *http.Request, f *satchel.File, ops []cdnurl.Op, name string, inline int) {
	if h.Engine == nil || h.Variants == nil {
		h.fail(w, http.StatusNotImplemented, "Image operations are not enabled on this server.")
		return
	}
	if !f.IsImage {
		h.fail(w, http.StatusBadRequest, "Image operations are not allowed: the requested files are not images.")
		return
	}
	auto := false
	for _, op := range ops {
		if fo, ok := op.(cdnurl.Format); ok && fo.Format == "auto" {
			auto = true
		}
	}
	accept := r.Header.Get("Accept")
	variant := cdnurl.FormatOps(ops)
	if auto {
		variant += "|" + acceptClass(accept)
		w.Header().Set("Vary", "Accept")
	}
	key := variantcache.Key(f.UUID, variant)
	e, err := h.variant(r.Context(), key, f, ops, accept)
	if err != nil {
		h.imagingError(w, f, err)
		return
	}
	var content io.ReadSeeker
	if e.Body != nil {
		content = bytes.NewReader(e.Body) // hot small variants: no file I/O
	} else {
		fh, err := os.Open(e.Path)
		if err != nil {
			// Evicted or removed meanwhile: compute again next time.
			h.Variants.Forget(key)
			h.fail(w, http.StatusServiceUnavailable, "Try again.")
			return
		}
		defer fh.Close()
		content = fh
	}
	if name == "" {
		name = strings.TrimSuffix(f.Filename, path.Ext(f.Filename)) + variantExt(e.ContentType)
	}
	h.headers(w, e.ContentType, e.ETag, name, inline)
	http.ServeContent(w, r, "", f.Uploaded, content)
}

func variantExt(ctype string) string {
	switch ctype {
	case "image/jpeg":
		return ".jpg"
	case "application/json":
		return ".json"
	}
	if i := strings.IndexByte(ctype, '/'); i >= 0 {
		return "." + ctype[i+1:]
	}
	return ""
}

func (h *Handler) imagingError(w http.ResponseWriter, f *satchel.File, err error) {
	var opErr *imaging.OpError
	switch {
	case errors.As(err, &opErr):
		h.fail(w, http.StatusBadRequest, opErr.Error())
	case errors.Is(err, imaging.ErrBusy):
		w.Header().Set("Retry-After", "1")
		h.fail(w, http.StatusTooManyRequests, "Too many images are being processed; retry shortly.")
	case errors.Is(err, imaging.ErrTooLarge):
		h.fail(w, http.StatusBadRequest, "Image is too large to process.")
	case errors.Is(err, imaging.ErrNotImage):
		h.fail(w, http.StatusBadRequest, "Image operations are not allowed: the requested files are not images.")
	case errors.Is(err, imaging.ErrTimeout):
		h.fail(w, http.StatusGatewayTimeout, "Image processing took too long.")
	case errors.Is(err, variantcache.ErrPurged):
		h.fail(w, http.StatusNotFound, "Not found.") // deleted meanwhile
	default:
		h.Log.Error("cdn transform", "uuid", f.UUID, "err", err)
		h.fail(w, http.StatusInternalServerError, "Internal error.")
	}
}

// overlays resolves overlay/<uuid> to files of the same project.
func (h *Handler) overlays(projectID int64) imaging.Overlays {
	return func(id string) (imaging.Source, error) {
		f, err := h.file(context.Background(), id)
		if err != nil || f.Removed != nil || f.ProjectID != projectID || !f.IsImage {
			return nil, &imaging.OpError{Op: "overlay", Msg: "overlay image " + id + " not found"}
		}
		return &blobSource{h: h, f: f}, nil
	}
}

func (h *Handler) maxAge() int {
	if h.MaxAge > 0 {
		return h.MaxAge
	}
	return 31536000
}

func etag(f *satchel.File) string {
	c := f.Checksum
	if i := strings.IndexByte(c, ':'); i >= 0 {
		c = c[i+1:]
	}
	if len(c) > 32 {
		c = c[:32]
	}
	if c == "" {
		c = f.UUID
	}
	return c
}

// Render applies CDN operations (a default_effects-style string) to a file
// and returns the result, through the variant cache: local and remote copies
// with operations use it.
func (h *Handler) Render(ctx context.Context, f *satchel.File, ops string) ([]byte, string, error) {
	if h.Engine == nil || h.Variants == nil {
		return nil, "", errors.New("image operations are not enabled on this server")
	}
	parsed, err := cdnurl.ParseOps(ops)
	if err != nil {
		return nil, "", &imaging.OpError{Op: "source", Msg: err.Error()}
	}
	if !f.IsImage {
		return nil, "", imaging.ErrNotImage
	}
	e, err := h.variant(ctx, variantcache.Key(f.UUID, cdnurl.FormatOps(parsed)), f, parsed, "")
	if err != nil {
		return nil, "", err
	}
	body, err := os.ReadFile(e.Path)
	return body, e.ContentType, err
}
