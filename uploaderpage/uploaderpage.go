// Package uploaderpage serves Satchel's own upload page at "/" and the
// <satchel-uploader> element other pages embed, from files built into the
// binary: nothing is loaded from another host.
//
//	GET /                       the page (?pub_key=… preselects a project)
//	GET /uploader/uploader.js   the <satchel-uploader> custom element
//	GET /uploader/uploader.css  its styles (loaded by the element itself)
//	GET /uploader/page.css      the page's styles
//
// The element talks to the Upload API of the host it was loaded from: /base/
// for small files, /multipart/ for files of 10 MB or more, /from_url/ with
// status polling for links, and /group/ for groups.
package uploaderpage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/index.html"))

// Config tells the page how it is reached.
type Config struct {
	// PublicURL is Satchel's public base URL, shown in the embed snippet;
	// empty derives it from each request.
	PublicURL string
}

// asset is one static file with its validator.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the page and the assets.
type Handler struct {
	cfg    Config
	assets map[string]asset
}

// New loads the built-in assets.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, assets: map[string]asset{}}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		panic(err) // built in: cannot fail
	}
	for _, e := range entries {
		ctype, ok := types[path.Ext(e.Name())]
		if !ok {
			continue
		}
		b, err := assets.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		h.assets[e.Name()] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return h
}

// Register adds the page and asset routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.servePage)
	mux.HandleFunc("GET /uploader/{name}", h.serveAsset)
}

// pageCSP keeps the page to its own host: scripts, styles, images (CDN
// thumbnails) and Upload API calls.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	data := struct{ PubKey, Origin string }{
		PubKey: strings.TrimSpace(r.URL.Query().Get("pub_key")),
		Origin: h.origin(r),
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
	w.Write(buf.Bytes())
}

// origin is the scheme and host the page was reached at.
func (h *Handler) origin(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s", scheme, r.Host)
}

// serveAsset serves a built-in file. Any origin may load them (the element
// is meant to be embedded), and they are revalidated after five minutes.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("name")]
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("Not found.\n"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
