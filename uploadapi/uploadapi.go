// Package uploadapi serves the Uploadcare Upload API (/base/, /multipart/…,
// /from_url/…, /info/, /group/…) on top of the application services.
package uploadapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/internal/httpx"
)

// Config shapes the Upload API.
type Config struct {
	// PublicURL is the absolute base of this server (no trailing slash); when
	// empty it is derived from each request.
	PublicURL string
	// MaxDirectUpload caps a /base/ request body (default 100 MB).
	MaxDirectUpload int64
	// MaxFields caps the number of form fields in one request.
	MaxFields int
	// TrustedProxies may tell the original scheme with X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
}

// Handler serves the Upload API.
type Handler struct {
	app *app.App
	cfg Config
	log *slog.Logger
}

// DefaultMaxDirectUpload is the cap of a /base/ request when
// Config.MaxDirectUpload is zero.
const DefaultMaxDirectUpload = 100 * 1000 * 1000

// New returns a Handler.
func New(a *app.App, cfg Config, log *slog.Logger) *Handler {
	if cfg.MaxDirectUpload == 0 {
		cfg.MaxDirectUpload = DefaultMaxDirectUpload
	}
	if cfg.MaxFields == 0 {
		cfg.MaxFields = 1100
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{app: a, cfg: cfg, log: log}
}

// InProgress counts the uploads being received by this node, through any
// dialect (see app.App.UploadsInProgress): the caps of app.Config apply to
// them all.
func (h *Handler) InProgress() int { return h.app.UploadsInProgress() }

// Register adds the Upload API routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /base/", trackBody(h.direct))
	mux.HandleFunc("POST /multipart/start/", trackBody(h.multipartStart))
	mux.HandleFunc("PUT /multipart/part/{uuid}/", trackBody(h.multipartPart))
	mux.HandleFunc("POST /multipart/complete/", trackBody(h.multipartComplete))
	mux.HandleFunc("POST /from_url/", trackBody(h.fromURL))
	// The jQuery widget 3.x (loaded by pyuploadcare's Django fields) sends
	// the same parameters as a GET query string.
	mux.HandleFunc("GET /from_url/{$}", h.fromURL)
	mux.HandleFunc("GET /from_url/status/", h.fromURLStatus)
	mux.HandleFunc("GET /info/", h.info)
	mux.HandleFunc("POST /group/", h.groupCreate)
	mux.HandleFunc("GET /group/info/", h.groupInfo)
	for _, p := range []string{"/base/", "/multipart/start/", "/multipart/part/{uuid}/", "/multipart/complete/", "/from_url/", "/from_url/status/", "/info/", "/group/", "/group/info/"} {
		mux.HandleFunc("OPTIONS "+p, h.preflight)
	}
}

// cors sets the headers browsers need on every Upload API answer.
func cors(w http.ResponseWriter, methods string) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Allow-Credentials", "true")
	hd.Set("Access-Control-Allow-Methods", methods)
	hd.Set("Access-Control-Allow-Headers", "X-UC-User-Agent, X-PINGOTHER, DNT, Content-Type")
	hd.Set("Access-Control-Expose-Headers", "Warning, Retry-After")
	hd.Set("Access-Control-Max-Age", preflightMaxAge)
}

// preflightMaxAge is how long (seconds) browsers may cache a preflight
// answer, so that the part PUTs of a multipart upload are not each preceded
// by an OPTIONS request. Browsers cap it (Chromium at two hours).
const preflightMaxAge = "86400"

const corsMethods = "GET, POST, PUT, HEAD, OPTIONS"

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	cors(w, corsMethods)
	w.WriteHeader(http.StatusOK)
}

// publicBase returns the absolute URL root of this server for r.
func (h *Handler) publicBase(r *http.Request) string {
	return httpx.PublicBase(h.cfg.PublicURL, r, h.cfg.TrustedProxies)
}

func writeJSON(w http.ResponseWriter, v any) {
	cors(w, corsMethods)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}

// writeError answers in the Upload API's error format: text/plain with the
// real status, or, with jsonerrors=1, HTTP 200 and a JSON error object.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := render(err)
	if e.status >= 500 && clientAborted(r, err) {
		// A cancelled or cut-off upload is the client's doing.
		h.log.InfoContext(r.Context(), "upload api: client aborted", "path", r.URL.Path, "err", err)
		e = render(errAborted)
	} else if e.status >= 500 {
		h.log.ErrorContext(r.Context(), "upload api", "path", r.URL.Path, "err", err)
	}
	cors(w, corsMethods)
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.retryAfter))
	}
	if r.URL.Query().Get("jsonerrors") == "1" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"content": e.text, "status_code": e.status, "error_code": e.code,
		}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	io.WriteString(w, e.text)
}

var errParse = satchel.Errorf(satchel.KindInvalid, reasonFormMalformed, "HTTP POST request parsing failed.")

// maxFieldSize bounds one non-file form value.
const maxFieldSize = 64 << 10

// form holds the fields of a request: its query string merged with a
// urlencoded or multipart body.
type form struct {
	url.Values
}

// bodyBufSize is the read buffer of a multipart body: reads from the
// connection of up to this many bytes.
const bodyBufSize = 64 << 10

// bodyBufs recycles the read buffers of multipart bodies.
var bodyBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bodyBufSize) }}

// fileHandler receives a file part of a multipart body; sofar holds the
// fields that came before it.
type fileHandler func(sofar form, field, filename, contentType string, body io.Reader) error

// readForm parses r's query and body. File parts are handed to onFile as
// they stream by (nil: files are refused).
func (h *Handler) readForm(r *http.Request, onFile fileHandler) (form, error) {
	f := form{Values: url.Values{}}
	for k, vs := range r.URL.Query() {
		f.Values[k] = append(f.Values[k], vs...)
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if params["boundary"] == "" {
			return f, errParse
		}
		// The multipart reader reads through a buffer of 4 KiB: without
		// one of our own in between, a large file costs a read from the
		// connection every 4 KiB.
		br := bodyBufs.Get().(*bufio.Reader)
		br.Reset(r.Body)
		defer func() {
			br.Reset(nil)
			bodyBufs.Put(br)
		}()
		mr := multipart.NewReader(br, params["boundary"])
		fields := 0
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return f, tooLargeOr(err, errParse)
			}
			fields++
			if fields > h.cfg.MaxFields {
				return f, satchel.Errorf(satchel.KindTooLarge, reasonTooManyFields, "The request contains too many HTTP POST fields.")
			}
			name := p.FormName()
			if isFilePart(p) {
				if onFile == nil {
					return f, satchel.Errorf(satchel.KindInvalid, reasonFormMalformed, "Unexpected file field %q.", name)
				}
				ctype := p.Header.Get("Content-Type")
				if ctype == "" {
					ctype = "application/octet-stream"
				}
				if err := onFile(f, name, p.FileName(), ctype, p); err != nil {
					return f, tooLargeOr(err, err)
				}
				continue
			}
			b, err := io.ReadAll(io.LimitReader(p, maxFieldSize+1))
			if err != nil {
				return f, tooLargeOr(err, errParse)
			}
			if len(b) > maxFieldSize {
				return f, satchel.Errorf(satchel.KindInvalid, reasonFormMalformed, "Field %q is too large.", name)
			}
			f.Values[name] = append(f.Values[name], string(b))
		}
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20+1))
		if err != nil {
			return f, tooLargeOr(err, errParse)
		}
		if len(b) > 8<<20 {
			return f, satchel.Errorf(satchel.KindTooLarge, reasonRequestTooLarge, "The size of the request is too large.")
		}
		vs, err := url.ParseQuery(string(b))
		if err != nil {
			return f, errParse
		}
		for k, v := range vs {
			f.Values[k] = append(f.Values[k], v...)
		}
	case "":
	default:
		// Unknown bodies are ignored: the query string may carry everything.
	}
	for k, vs := range f.Values {
		if strings.ContainsRune(k, 0) {
			return f, nullChars
		}
		for _, v := range vs {
			if strings.ContainsRune(v, 0) {
				return f, nullChars
			}
		}
	}
	return f, nil
}

var nullChars = satchel.Errorf(satchel.KindInvalid, reasonNullChars, "Null characters are not allowed.")

var errTooLarge = satchel.Errorf(satchel.KindTooLarge, reasonRequestTooLarge, "The size of the request is too large.")

func tooLargeOr(err, other error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, app.ErrTooLarge) {
		return errTooLarge
	}
	// The body itself may fail with an answer of its own (too slow).
	var se *satchel.Error
	if errors.As(err, &se) {
		return se
	}
	return other
}

// isFilePart reports whether a part carries a filename parameter (even empty).
func isFilePart(p *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return false
	}
	_, ok := params["filename"]
	return ok
}

// options reads the upload options shared by /base/, /multipart/start/ and /from_url/.
func (f form) options(storeField string) (app.UploadOptions, error) {
	o := app.UploadOptions{Store: f.Get(storeField), Source: f.Get("source")}
	for k, vs := range f.Values {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			key := k[len("metadata[") : len(k)-1]
			if len(vs) > 1 {
				return o, satchel.Errorf(satchel.KindInvalid, reasonMetaKeyDuplicated, "Metadata key %q is duplicated.", key)
			}
			if o.Metadata == nil {
				o.Metadata = map[string]string{}
			}
			o.Metadata[key] = vs[0]
		}
	}
	if t := f.Get("tags"); t != "" {
		tags, err := satchel.ParseTags(t)
		if err != nil {
			return o, err
		}
		o.Tags = tags
	}
	return o, o.Validate()
}
