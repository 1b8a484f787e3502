// Command formapp is an example of the forms package: a small site whose
// form takes a title, a photo (an image, cropped square) and optional
// attachments (a group of files), uploaded to Satchel from the browser.
// The server checks the posted values against the project through the REST
// API and stores the files on save.
//
//	go run ./examples/formapp --satchel http://127.0.0.1:8080 \
//	    --pub-key demopublickey --secret-key demosecretkey
//
// then open http://127.0.0.1:8090/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/satchel-project/satchel/forms"
)

// entry is one saved form.
type entry struct {
	Title       string
	Photo       *forms.Value
	Attachments *forms.Value
	Saved       time.Time
}

type app struct {
	client      *forms.Client
	photo       forms.Field
	attachments forms.Field
	tmpl        *template.Template
	csp         string
	log         *slog.Logger

	mu      sync.Mutex
	entries []entry
}

func main() {
	addr := flag.String("addr", envOr("FORMAPP_ADDR", "127.0.0.1:8090"), "listen address (FORMAPP_ADDR)")
	base := flag.String("satchel", envOr("FORMAPP_SATCHEL_URL", "http://127.0.0.1:8080"), "Satchel's base URL (FORMAPP_SATCHEL_URL)")
	pub := flag.String("pub-key", envOr("FORMAPP_PUB_KEY", ""), "the project's public key (FORMAPP_PUB_KEY)")
	secret := flag.String("secret-key", envOr("FORMAPP_SECRET_KEY", ""), "the project's secret key (FORMAPP_SECRET_KEY)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *pub == "" || *secret == "" {
		fmt.Fprintln(os.Stderr, "formapp: --pub-key and --secret-key are required")
		os.Exit(2)
	}
	a, err := newApp(&forms.Client{BaseURL: *base, PublicKey: *pub, SecretKey: *secret, HTTP: &http.Client{Timeout: 30 * time.Second}}, log)
	if err != nil {
		log.Error("formapp", "err", err)
		os.Exit(1)
	}
	log.Info("formapp listening", "addr", *addr, "satchel", *base)
	srv := &http.Server{Addr: *addr, Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("formapp", "err", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func newApp(c *forms.Client, log *slog.Logger) (*app, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad Satchel URL %q", c.BaseURL)
	}
	origin := u.Scheme + "://" + u.Host
	a := &app{
		client:      c,
		photo:       forms.Field{Name: "photo", Required: true, ImagesOnly: true, Crop: "1:1", MaxSize: 20 << 20},
		attachments: forms.Field{Name: "attachments", Group: true, MaxFiles: 10},
		log:         log,
		// The page loads the uploader from Satchel and talks to it; nothing else.
		csp: "default-src 'none'; script-src " + origin + "; style-src 'self' 'unsafe-inline' " + origin +
			"; img-src " + origin + "; connect-src " + origin + "; form-action 'self'; base-uri 'none'",
	}
	a.tmpl = template.Must(template.New("page").Funcs(c.FuncMap()).Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 }}).Parse(pageHTML))
	return a, nil
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { a.render(w, http.StatusOK, formData{}) })
	mux.HandleFunc("POST /{$}", a.submit)
	mux.HandleFunc("GET /entries/{n}", a.show)
	return mux
}

// formData is what the form page shows.
type formData struct {
	Title, Photo, Attachments string
	Errors                    map[string]string
	Entry                     *entry
	EntryN                    int
	Entries                   []entry
	PhotoField, AttachField   forms.Field
}

func (a *app) render(w http.ResponseWriter, status int, d formData) {
	d.PhotoField, d.AttachField = a.photo, a.attachments
	a.mu.Lock()
	d.Entries = append([]entry(nil), a.entries...)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", a.csp)
	w.WriteHeader(status)
	if err := a.tmpl.Execute(w, d); err != nil {
		a.log.Error("render", "err", err)
	}
}

func (a *app) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form.", http.StatusBadRequest)
		return
	}
	d := formData{
		Title:       strings.TrimSpace(r.PostForm.Get("title")),
		Photo:       r.PostForm.Get("photo"),
		Attachments: r.PostForm.Get("attachments"),
		Errors:      map[string]string{},
	}
	if d.Title == "" {
		d.Errors["title"] = "this field is required"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	photo, err := a.client.Clean(ctx, a.photo, d.Photo)
	if !a.fieldError(d.Errors, "photo", err) {
		d.Errors["photo"] = "could not check the file, try again"
	}
	attachments, err := a.client.Clean(ctx, a.attachments, d.Attachments)
	if !a.fieldError(d.Errors, "attachments", err) {
		d.Errors["attachments"] = "could not check the files, try again"
	}
	if len(d.Errors) > 0 {
		a.render(w, http.StatusUnprocessableEntity, d)
		return
	}
	for _, v := range []*forms.Value{photo, attachments} {
		if err := a.client.Save(ctx, v); err != nil {
			a.log.Error("store", "err", err)
			d.Errors["photo"] = "could not store the files, try again"
			a.render(w, http.StatusBadGateway, d)
			return
		}
	}
	a.mu.Lock()
	a.entries = append(a.entries, entry{Title: d.Title, Photo: photo, Attachments: attachments, Saved: time.Now()})
	n := len(a.entries)
	a.mu.Unlock()
	http.Redirect(w, r, "/entries/"+strconv.Itoa(n), http.StatusSeeOther)
}

// fieldError records a validation error for the person; it reports false
// for other errors (which are logged).
func (a *app) fieldError(errs map[string]string, name string, err error) bool {
	var ve *forms.ValidationError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		errs[name] = ve.Msg
	default:
		a.log.Error("check upload", "field", name, "err", err)
		return false
	}
	return true
}

func (a *app) show(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	a.mu.Lock()
	ok := err == nil && n >= 1 && n <= len(a.entries)
	var e entry
	if ok {
		e = a.entries[n-1]
	}
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	a.render(w, http.StatusOK, formData{Entry: &e, EntryN: n})
}

const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Entry}}{{.Entry.Title}}{{else}}New entry{{end}} · form example</title>
{{satchelScript}}
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 720px; margin: 24px auto; padding: 0 16px; color: #1d2430; }
label { display: block; font-weight: 600; margin-top: 16px; }
.error { color: #b91c1c; }
input[type=text] { font: inherit; padding: 6px; width: 100%; box-sizing: border-box; }
button { font: inherit; margin-top: 16px; padding: 8px 16px; }
.saved { background: #ecfdf5; padding: 12px; border-radius: 6px; }
</style>
</head>
<body>
{{with .Entry}}
<section class="saved" id="saved">
<h1>Saved: {{.Title}}</h1>
<p>Photo: <a id="photo-url" href="{{.Photo.CDNURL}}">{{.Photo.CDNURL}}</a>{{if (index .Photo.Files 0).Stored}} <span class="stored">(stored)</span>{{end}}</p>
<p><img id="photo-img" alt="{{.Title}}" src="{{.Photo.CDNURL}}-/preview/200x200/"></p>
{{with .Attachments}}<p>Attachments: <a id="attachments-url" href="{{.CDNURL}}">{{.CDNURL}}</a></p>
<ul>{{range .Files}}<li><a class="attachment" href="{{.CDNURL}}">{{.Filename}}</a> ({{.Size}} bytes){{if .Stored}} <span class="stored">(stored)</span>{{end}}</li>{{end}}</ul>{{end}}
</section>
<p><a href="/">Another entry</a></p>
{{else}}
<h1>New entry</h1>
<form method="post" action="/">
<label for="title">Title</label>
<input type="text" id="title" name="title" value="{{.Title}}" required>
{{with .Errors.title}}<p class="error" id="title-error">{{.}}</p>{{end}}
<label>Photo (an image, cropped square)</label>
{{satchelWidget .PhotoField .Photo}}
{{with .Errors.photo}}<p class="error" id="photo-error">{{.}}</p>{{end}}
<label>Attachments (any files, optional)</label>
{{satchelWidget .AttachField .Attachments}}
{{with .Errors.attachments}}<p class="error" id="attachments-error">{{.}}</p>{{end}}
<button type="submit" id="save">Save</button>
</form>
{{end}}
{{with .Entries}}<h2>Saved entries</h2><ol>{{range $i, $e := .}}<li><a href="/entries/{{inc $i}}">{{$e.Title}}</a></li>{{end}}</ol>{{end}}
</body>
</html>
`
