package cdn

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
)

// hotResponse is a whole answer kept in memory: the body of a small variant
// or original and its response headers, built once. Serving it costs no
// store query, no file I/O and no header formatting: the header values are
// shared (read-only) slices, set into each response as they are.
type hotResponse struct {
	uuid string
	// file is the metadata the answer was built from; the answer is served
	// only while the metadata cache still holds the same file.
	file *satchel.File
	// variant is set for image operations (originals are checked against
	// the protection of their file).
	variant bool
	body    []byte
	modtime time.Time
	// base are the headers the handler sets itself; whole are those
	// http.ServeContent adds to a plain 200 (Last-Modified, Accept-Ranges,
	// Content-Length).
	base, whole []headerField
}

type headerField struct {
	key string
	val []string
}

// hotOverhead is what an entry costs beyond its body (headers, bookkeeping).
const hotOverhead = 1 << 10

func (h *Handler) hotItemMax() int64 {
	if h.HotItemMax > 0 {
		return h.HotItemMax
	}
	return DefaultHotItemMax
}

// hotKey names the answer to r in the hot cache: its path, with the Accept
// class when the format is negotiated (format/auto). It reports "" when the
// request may not be answered from the cache.
func hotKey(r *http.Request) string {
	p := r.URL.EscapedPath()
	if strings.Contains(p, "auto") {
		return p + "\x00" + acceptClass(r.Header.Get("Accept"))
	}
	return p
}

// serveHot answers r from the hot cache when it holds the answer and the
// file is still live and public (as the metadata cache sees it); false
// leaves the request to the full path.
func (h *Handler) serveHot(w http.ResponseWriter, r *http.Request) bool {
	key := hotKey(r)
	resp, ok := h.hot.get(key, 0)
	if !ok {
		return false
	}
	// The metadata is looked up in memory first, with one clock reading
	// for both, and asked of the store only when it is not there (or
	// expired).
	now := time.Now().UnixNano()
	f, ok := h.files.lru.get(resp.uuid, now)
	if !ok {
		var err error
		if f, err = h.file(r.Context(), resp.uuid); err != nil {
			f = nil
		}
	}
	if f == nil || f.Removed != nil || !sameDelivery(f, resp.file) || (!resp.variant && f.OriginalProtected) {
		h.hot.delete(key) // the full path answers, and builds it again if it may
		return false
	}
	p, ok := h.projects.lru.get(f.ProjectID, now)
	if !ok {
		var err error
		if p, err = h.project(r.Context(), f.ProjectID); err != nil {
			return false
		}
	}
	if p.SecureDeliverySecret != "" {
		h.hot.delete(key)
		return false
	}
	if resp.variant {
		h.Metrics.VariantLookup(true)
	}
	writeHot(w, r, resp)
	return true
}

// sameDelivery reports whether two versions of a file's metadata give the
// same answers.
func sameDelivery(a, b *satchel.File) bool {
	return a == b || a.UUID == b.UUID && a.ProjectID == b.ProjectID && a.BlobKey == b.BlobKey &&
		a.Size == b.Size && a.MimeType == b.MimeType && a.Filename == b.Filename && a.Checksum == b.Checksum &&
		a.Uploaded.Equal(b.Uploaded) && a.IsImage == b.IsImage && a.OriginalProtected == b.OriginalProtected
}

// conditional reports whether r asks for part of the body or states
// preconditions: those go through http.ServeContent.
func conditional(r *http.Request) bool {
	hd := r.Header
	return hd["Range"] != nil || hd["If-None-Match"] != nil || hd["If-Modified-Since"] != nil ||
		hd["If-Match"] != nil || hd["If-Unmodified-Since"] != nil
}

// writeHot sends a kept answer: a plain GET or HEAD gets the prepared
// headers and one Write; ranges and preconditions are handled by
// http.ServeContent exactly as for an answer read from disk.
func writeHot(w http.ResponseWriter, r *http.Request, resp *hotResponse) {
	hd := w.Header()
	for _, f := range resp.base {
		hd[f.key] = f.val
	}
	if conditional(r) {
		http.ServeContent(w, r, "", resp.modtime, bytes.NewReader(resp.body))
		return
	}
	for _, f := range resp.whole {
		hd[f.key] = f.val
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

// newHot prepares the answer of a variant or original held in body.
func (h *Handler) newHot(f *satchel.File, variant bool, body []byte, ctype, tag, name string, inline int, vary bool) *hotResponse {
	hd := http.Header{}
	if vary {
		hd.Set("Vary", "Accept")
	}
	h.setHeaders(hd, ctype, tag, name, inline)
	resp := &hotResponse{uuid: f.UUID, file: f, variant: variant, body: body, modtime: f.Uploaded}
	for k, v := range hd {
		resp.base = append(resp.base, headerField{k, v[:len(v):len(v)]})
	}
	if lm := lastModified(f.Uploaded); lm != "" {
		resp.whole = append(resp.whole, headerField{"Last-Modified", []string{lm}})
	}
	resp.whole = append(resp.whole, headerField{"Accept-Ranges", []string{"bytes"}},
		headerField{"Content-Length", []string{strconv.Itoa(len(body))}})
	return resp
}

// keepHot puts an answer in the hot cache.
func (h *Handler) keepHot(key string, resp *hotResponse) {
	h.hot.add(key, resp, int64(len(resp.body))+hotOverhead, 0)
}

// lastModified is the Last-Modified value http.ServeContent sends for t
// ("" for none).
func lastModified(t time.Time) string {
	if t.IsZero() || t.Equal(time.Unix(0, 0)) {
		return ""
	}
	return t.UTC().Format(http.TimeFormat)
}

// HotCacheLen reports how many answers the hot cache holds and what they
// cost (bodies plus a fixed overhead each), for monitoring.
func (h *Handler) HotCacheLen() (answers int, bytes int64) {
	h.caches()
	return h.hot.len(), h.hot.total()
}
