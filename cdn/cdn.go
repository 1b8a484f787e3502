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
	"syscall"
	"time"

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
	// Gif2Video, when set with Engine and Variants, converts animated GIFs
	// to videos (/<uuid>/gif2video/); nil answers those URLs 501.
	Gif2Video *Gif2Video
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
	// HotCacheBytes bounds the answers kept in memory whole (body and
	// headers) for the hottest variants and small originals; 0 means
	// DefaultHotCacheBytes, a negative value turns the cache off.
	HotCacheBytes int64
	// HotItemMax is the largest body kept in the hot cache; 0 means
	// DefaultHotItemMax. Larger files are sent from disk with sendfile.
	HotItemMax int64
	// OpenFiles bounds the descriptors of local originals larger than
	// HotItemMax kept open between requests (sent with sendfile without an
	// open, stat and close each); 0 means DefaultOpenFiles, a negative
	// value turns this off.
	OpenFiles int

	cacheOnce sync.Once
	files     *metaCache[string, *satchel.File]
	projects  *metaCache[int64, *satchel.Project]
	hot       *lru[string, *hotResponse]
	fds       *fdCache
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
	// DefaultHotCacheBytes is the default size of the hot answer cache.
	DefaultHotCacheBytes = 64 << 20
	// DefaultHotItemMax is the default largest body the hot cache keeps.
	DefaultHotItemMax = 1 << 20
	// DefaultOpenFiles is the default number of descriptors of large
	// originals kept open.
	DefaultOpenFiles = 256
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
		h.files = newMetaCache[string, *satchel.File](size, ttl)
		h.projects = newMetaCache[int64, *satchel.Project](size, ttl)
		hot := h.HotCacheBytes
		if hot == 0 {
			hot = DefaultHotCacheBytes
		}
		h.hot = newLRU[string, *hotResponse](max(hot, 0))
		fds := h.OpenFiles
		if fds == 0 {
			fds = DefaultOpenFiles
		}
		h.fds = newFDCache(max(fds, 0))
	})
}

// MetaCacheLen reports how many files and projects the metadata cache
// holds, for monitoring.
func (h *Handler) MetaCacheLen() (files, projects int) {
	h.caches()
	return h.files.lru.len(), h.projects.lru.len()
}

// metaCache keeps the delivery hot path free of store queries: a bounded
// LRU whose entries expire, with concurrent loads of one key collapsed into
// one store query. Only hits are kept: a miss (a file not uploaded yet, a
// random UUID) is asked of the store again next time, so a file is served as
// soon as its upload completes, on every node, and misses cost no memory.
// It runs no goroutine of its own.
type metaCache[K comparable, T any] struct {
	lru   *lru[K, T]
	ttl   time.Duration
	loads singleflight.Group
	// gen changes whenever a key is forgotten, so that a load that started
	// before a purge does not put the purged value back.
	gen atomic.Uint64
}

func newMetaCache[K comparable, T any](size int, ttl time.Duration) *metaCache[K, T] {
	return &metaCache[K, T]{lru: newLRU[K, T](int64(size)), ttl: ttl}
}

// get returns the cached value of key or loads it. The load runs detached
// from ctx, since other requests may be waiting for it; ctx only bounds how
// long this caller waits. name is key as text, only used on a miss.
func (c *metaCache[K, T]) get(ctx context.Context, key K, name func(K) string, load func(context.Context) (T, error)) (T, error) {
	if v, ok := c.lru.get(key, time.Now().UnixNano()); ok {
		return v, nil
	}
	sfKey := name(key)
	ch := c.loads.DoChan(sfKey, func() (any, error) {
		gen := c.gen.Load()
		v, err := load(context.WithoutCancel(ctx))
		if err == nil && c.gen.Load() == gen {
			c.lru.add(key, v, 1, time.Now().Add(c.ttl).UnixNano())
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

func (c *metaCache[K, T]) forget(key K, name string) {
	c.gen.Add(1)
	c.lru.delete(key)
	c.loads.Forget(name)
}

func sameString(s string) string { return s }

func int64String(id int64) string { return strconv.FormatInt(id, 10) }

// Purge forgets a file and its variants on this node (after a delete).
func (h *Handler) Purge(uuid string) {
	h.caches()
	h.files.forget(uuid, uuid)
	h.fds.purge(uuid)
	h.hot.deleteFunc(func(_ string, r *hotResponse) bool { return r.uuid == uuid })
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
	if f, ok := h.files.lru.get(id, time.Now().UnixNano()); ok {
		return f, nil // before making the loader: a hit allocates nothing
	}
	return h.files.get(ctx, id, sameString, func(ctx context.Context) (*satchel.File, error) { return h.Store.File(ctx, 0, id) })
}

func (h *Handler) project(ctx context.Context, id int64) (*satchel.Project, error) {
	h.caches()
	if p, ok := h.projects.lru.get(id, time.Now().UnixNano()); ok {
		return p, nil
	}
	return h.projects.get(ctx, id, int64String, func(ctx context.Context) (*satchel.Project, error) { return h.Store.ProjectByID(ctx, id) })
}

// ServeHTTP serves every CDN path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	// Only answers to valid paths are kept: a hit needs no more checks.
	h.caches()
	if h.serveHot(w, r) {
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
		// Deleted, maybe through another node: its open descriptors go.
		h.fds.purge(t.UUID)
		return
	}
	if !h.authorized(w, r, f.ProjectID) {
		return
	}
	// Answers of public files may be kept whole in memory.
	key := ""
	if p, err := h.project(r.Context(), f.ProjectID); err == nil && p.SecureDeliverySecret == "" && h.hot.max > 0 {
		key = hotKey(r)
	}
	h.serveFile(w, r, f, t.Ops, t.Filename, t.Special, key)
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
		h.serveFile(w, r, files[t.Nth], append(base, t.Ops...), t.Filename, "", "")
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

// serveFile serves a file, applying operations when there are any. A small
// answer is kept in the hot cache under hotKey when that is set.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, f *satchel.File, ops []cdnurl.Op, name, special, hotKey string) {
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
	switch special {
	case "":
	case cdnurl.SpecialGif2Video:
		h.serveGif2Video(w, r, f, imageOps, name, inline, hotKey)
		return
	case cdnurl.SpecialDetectFaces:
		if h.Engine != nil && !h.Engine.Faces() {
			h.fail(w, http.StatusNotImplemented, "Face detection is not enabled on this server (no face cascade loaded; see --face-cascade).")
			return
		}
		// An image variant like any other: computed on a worker, cached.
		h.serveVariant(w, r, f, []cdnurl.Op{imaging.DetectFaces{}}, name, -1, hotKey)
		return
	default:
		h.fail(w, http.StatusNotImplemented, special+" is not supported by this server.")
		return
	}
	if len(imageOps) == 0 {
		if f.OriginalProtected {
			if !h.originalAllowed(w, r, f) {
				return
			}
			hotKey = ""
		}
		h.serveOriginal(w, r, f, name, inline, hotKey)
		return
	}
	h.serveVariant(w, r, f, imageOps, name, inline, hotKey)
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

func (h *Handler) serveOriginal(w http.ResponseWriter, r *http.Request, f *satchel.File, name string, inline int, hotKey string) {
	if name == "" {
		name = f.Filename
	}
	if (hotKey == "" || f.Size > h.hotItemMax()) && h.serveKept(w, r, f, name, inline) {
		return
	}
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
	tag := `"` + etag(f) + `"`
	if size := blob.Size(); hotKey != "" && size <= h.hotItemMax() {
		body := make([]byte, size)
		if _, err := io.ReadFull(blob, body); err != nil {
			h.Log.Error("cdn read", "uuid", f.UUID, "err", err)
			h.fail(w, http.StatusInternalServerError, "Internal error.")
			return
		}
		resp := h.newHot(f, false, body, f.MimeType, tag, name, inline, false)
		h.keepHot(hotKey, resp)
		writeHot(w, r, resp)
		return
	}
	h.headers(w, f.MimeType, tag, name, inline)
	serveBlob(w, r, f.Uploaded, blob)
}

// serveKept sends a local original through a descriptor of the open-file
// cache; false (nothing written) leaves it to the bucket: not a local
// blob, missing, or not of the recorded size (the hot cache may take it).
func (h *Handler) serveKept(w http.ResponseWriter, r *http.Request, f *satchel.File, name string, inline int) bool {
	if h.fds.max <= 0 {
		return false
	}
	p, local := h.Bucket.LocalPath(f.BlobKey)
	if !local {
		return false
	}
	kf, err := h.fds.take(f.UUID, f.BlobKey, p)
	if err != nil {
		return false
	}
	defer h.fds.give(kf)
	if kf.size != f.Size {
		return false
	}
	h.headers(w, f.MimeType, `"`+etag(f)+`"`, name, inline)
	if conditional(r) {
		http.ServeContent(w, r, "", f.Uploaded, kf.File)
		return true
	}
	serveWhole(w, r, f.Uploaded, kf.File, kf.size)
	return true
}

// serveBlob sends a blob from the bucket. A whole local file leaves through
// io.CopyN to the ResponseWriter, whose ReadFrom hands it to sendfile(2);
// ranges and preconditions, and remote blobs, go through
// http.ServeContent.
func serveBlob(w http.ResponseWriter, r *http.Request, modtime time.Time, blob blobstore.Reader) {
	if _, local := blob.(syscall.Conn); !local || conditional(r) {
		http.ServeContent(w, r, "", modtime, blob)
		return
	}
	serveWhole(w, r, modtime, blob, blob.Size())
}

// serveWhole sends the size bytes of body as a plain 200, with the headers
// http.ServeContent would add.
func serveWhole(w http.ResponseWriter, r *http.Request, modtime time.Time, body io.Reader, size int64) {
	hd := w.Header()
	if lm := lastModified(modtime); lm != "" {
		hd.Set("Last-Modified", lm)
	}
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.CopyN(w, body, size)
	}
}

// headers sets the delivery headers shared by originals and variants.
func (h *Handler) headers(w http.ResponseWriter, ctype, tag, name string, inline int) {
	h.setHeaders(w.Header(), ctype, tag, name, inline)
}

// setHeaders sets the delivery headers shared by originals and variants
// in hd.
func (h *Handler) setHeaders(hd http.Header, ctype, tag, name string, inline int) {
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Content-Type", ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", h.cacheControl())
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

func (h *Handler) cacheControl() string {
	return "public, max-age=" + strconv.Itoa(h.maxAge()) + ", immutable"
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

func (h *Handler) serveVariant(w http.ResponseWriter, r *http.Request, f *satchel.File, ops []cdnurl.Op, name string, inline int, hotKey string) {
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
	h.serveEntry(w, r, f, key, e, name, inline, hotKey, auto)
}

// serveEntry sends a variant from the variant cache, named name (the
// file's name with the variant's extension when empty); a small one is
// kept in the hot cache under hotKey when that is set. vary says that the
// answer depends on Accept.
func (h *Handler) serveEntry(w http.ResponseWriter, r *http.Request, f *satchel.File, key string, e *variantcache.Entry, name string, inline int, hotKey string, vary bool) {
	var err error
	if name == "" {
		name = strings.TrimSuffix(f.Filename, path.Ext(f.Filename)) + variantExt(e.ContentType)
	}
	body := e.Body
	if hotKey != "" && e.Size <= h.hotItemMax() {
		if body == nil {
			if body, err = os.ReadFile(e.Path); err != nil {
				// Evicted or removed meanwhile: compute again next time.
				h.Variants.Forget(key)
				h.fail(w, http.StatusServiceUnavailable, "Try again.")
				return
			}
		}
		resp := h.newHot(f, true, body, e.ContentType, e.ETag, name, inline, vary)
		h.keepHot(hotKey, resp)
		writeHot(w, r, resp)
		return
	}
	h.headers(w, e.ContentType, e.ETag, name, inline)
	if body != nil {
		http.ServeContent(w, r, "", f.Uploaded, bytes.NewReader(body))
		return
	}
	fh, err := os.Open(e.Path)
	if err != nil {
		h.Variants.Forget(key)
		h.fail(w, http.StatusServiceUnavailable, "Try again.")
		return
	}
	defer fh.Close()
	if conditional(r) {
		http.ServeContent(w, r, "", f.Uploaded, fh)
		return
	}
	st, err := fh.Stat()
	if err != nil {
		h.fail(w, http.StatusServiceUnavailable, "Try again.")
		return
	}
	serveWhole(w, r, f.Uploaded, fh, st.Size())
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
	if h.convertError(w, err) {
		return
	}
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
