// Package cdn serves file delivery: originals by UUID with Range, ETag and
// safe headers. Image operations arrive with the CDN work; until then a URL
// carrying operations is answered with a clear error, never ignored.
package cdn

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
)

// Handler serves CDN URLs.
type Handler struct {
	Store  satchel.Store
	Bucket blobstore.Bucket
	Log    *slog.Logger
	// MaxAge is the Cache-Control max-age in seconds.
	MaxAge int
}

// inlineTypes are served inline by default: images a browser renders safely.
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/bmp": true, "image/heic": true, "image/heif": true,
	"video/mp4": true, "video/webm": true, "audio/mpeg": true, "application/pdf": true,
}

// activeTypes can run script in a browser: they get a sandboxing CSP.
func activeType(m string) bool {
	return strings.Contains(m, "html") || strings.Contains(m, "svg") || strings.Contains(m, "xml") || strings.Contains(m, "javascript")
}

func (h *Handler) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// ServeHTTP serves GET/HEAD /{uuid}/[filename] and /{uuid}/-/…/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	id := segs[0]
	if !satchel.ValidUUID(id) {
		h.fail(w, http.StatusNotFound, "Not found.")
		return
	}
	rest := segs[1:]
	if len(rest) > 0 && rest[0] == "-" {
		h.fail(w, http.StatusBadRequest, "Image operations are not supported by this server yet.")
		return
	}
	if len(rest) > 2 || (len(rest) == 2 && rest[1] != "") {
		h.fail(w, http.StatusNotFound, "Not found.")
		return
	}
	f, err := h.Store.File(r.Context(), 0, id)
	if err != nil || f.Removed != nil {
		if err != nil && !satchel.IsNotFound(err) {
			h.Log.Error("cdn lookup", "uuid", id, "err", err)
			h.fail(w, http.StatusInternalServerError, "Internal error.")
			return
		}
		h.fail(w, http.StatusNotFound, "Not found.")
		return
	}
	blob, err := h.Bucket.Open(r.Context(), f.BlobKey)
	if err != nil {
		if errors.Is(err, blobstore.ErrNotFound) {
			h.fail(w, http.StatusNotFound, "Not found.")
			return
		}
		h.Log.Error("cdn open", "uuid", id, "err", err)
		h.fail(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	defer blob.Close()
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Content-Type", f.MimeType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d, immutable", h.maxAge()))
	hd.Set("ETag", `"`+etag(f)+`"`)
	name := f.Filename
	if len(rest) == 1 && rest[0] != "" {
		name = satchel.SanitizeFilename(rest[0])
	}
	disp := "attachment"
	if inlineTypes[f.MimeType] {
		disp = "inline"
	}
	hd.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s"`, disp, name))
	if activeType(f.MimeType) {
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	http.ServeContent(w, r, "", f.Uploaded, blob)
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
