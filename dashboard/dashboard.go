// Package dashboard serves the web dashboard at /dashboard/: sign-in with a
// project's keys or the administrator token, a file browser, file details
// (metadata, tags, store, delete, CDN URLs), groups, webhooks with their
// delivery log, project settings, key rotation and usage figures. Pages are
// rendered on the server from embedded templates and assets; every change
// goes through the app services.
package dashboard

import (
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/internal/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config shapes the dashboard.
type Config struct {
	// AdminToken, when set, signs an administrator in to every project.
	AdminToken string
	// PublicURL is the base of CDN links and thumbnails; empty keeps them
	// on the dashboard's own host.
	PublicURL string
	// TrustedProxies may tell the original scheme with X-Forwarded-Proto
	// (session cookies are Secure over TLS).
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a sign-in lasts (default 12 h).
	SessionTTL time.Duration
	// SigninFailures failed sign-ins from one address (an IPv6 /64) within
	// SigninWindow make the dashboard refuse its sign-ins (429) until the
	// window ends (defaults: 10 in 15 minutes, counted per node).
	SigninFailures int
	SigninWindow   time.Duration
}

// Handler serves the dashboard.
type Handler struct {
	app   *app.App
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	cdn   string
	imgs  string // the CDN origin for the Content-Security-Policy, when not our own

	keyMu sync.Mutex
	key   []byte

	signinLimit *failureLimit
}

// New builds the dashboard.
func New(a *app.App, cfg Config, log *slog.Logger) *Handler {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.SigninFailures <= 0 {
		cfg.SigninFailures = 10
	}
	if cfg.SigninWindow <= 0 {
		cfg.SigninWindow = 15 * time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{app: a, cfg: cfg, log: log, pages: map[string]*template.Template{},
		signinLimit: newFailureLimit(cfg.SigninFailures, cfg.SigninWindow)}
	h.cdn = strings.TrimRight(cfg.PublicURL, "/")
	if u, err := url.Parse(h.cdn); err == nil && u.Scheme != "" && u.Host != "" {
		h.imgs = u.Scheme + "://" + u.Host
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		h.pages[base] = template.Must(template.New("layout.html").Funcs(h.funcs()).ParseFS(templateFS, "templates/layout.html", n))
	}
	return h
}

// Register adds the dashboard's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/dashboard/assets/", http.FileServerFS(static))
	mux.Handle("GET /dashboard/assets/", h.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	mux.Handle("GET /dashboard", http.RedirectHandler("/dashboard/", http.StatusMovedPermanently))
	mux.Handle("GET /dashboard/{$}", h.headers(http.HandlerFunc(h.home)))
	mux.Handle("GET /dashboard/signin", h.headers(http.HandlerFunc(h.signinForm)))
	mux.Handle("POST /dashboard/signin", h.headers(http.HandlerFunc(h.signin)))
	mux.Handle("POST /dashboard/signout", h.headers(h.auth(h.signout)))
	mux.Handle("GET /dashboard/projects", h.headers(h.auth(h.projects)))

	p := func(method, path string, fn projectHandler) {
		mux.Handle(method+" /dashboard/p/{pid}"+path, h.headers(h.auth(h.inProject(fn))))
	}
	p("GET", "/{$}", h.overview)
	p("GET", "/files", h.files)
	p("GET", "/files/{uuid}", h.file)
	p("POST", "/files/{uuid}/store", h.storeFile)
	p("POST", "/files/{uuid}/delete", h.deleteFile)
	p("POST", "/files/{uuid}/metadata", h.setMetadata)
	p("POST", "/files/{uuid}/metadata/delete", h.deleteMetadata)
	p("POST", "/files/{uuid}/tags", h.setTags)
	p("GET", "/groups", h.groups)
	p("GET", "/groups/{gid}", h.group)
	p("POST", "/groups/{gid}/delete", h.deleteGroup)
	p("GET", "/webhooks", h.webhooks)
	p("POST", "/webhooks", h.createWebhook)
	p("POST", "/webhooks/{wid}/update", h.updateWebhook)
	p("POST", "/webhooks/{wid}/delete", h.deleteWebhook)
	p("POST", "/deliveries/{did}/redeliver", h.redeliver)
	p("GET", "/settings", h.settings)
	p("POST", "/settings", h.saveSettings)
	p("POST", "/keys", h.rotateKeys)
}

// headers sets the security headers of every dashboard answer.
func (h *Handler) headers(next http.Handler) http.Handler {
	img := "'self'"
	if h.imgs != "" {
		img += " " + h.imgs
	}
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img + "; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// request is what a signed-in handler knows.
type request struct {
	key     []byte
	session *session
	csrf    string
	project *satchel.Project
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, rq *request)
type projectHandler func(w http.ResponseWriter, r *http.Request, rq *request)

// auth requires a valid session, and a valid CSRF token on every POST.
func (h *Handler) auth(fn sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := h.sessionKey(r.Context())
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		s := h.currentSession(r, key)
		if s == nil {
			if r.Method != http.MethodGet {
				h.fail(w, r, nil, satchel.Errorf(satchel.KindForbidden, satchel.ReasonSessionEnded, "Your session has ended. Sign in again."))
				return
			}
			http.Redirect(w, r, "/dashboard/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		rq := &request{key: key, session: s, csrf: csrfToken(key, s)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, rq, satchel.Errorf(satchel.KindInvalid, satchel.ReasonFormInvalid, "The form could not be read."))
				return
			}
			if !validCSRF(key, s, r.PostForm.Get("csrf")) {
				h.fail(w, r, rq, satchel.Errorf(satchel.KindForbidden, satchel.ReasonFormForged, "The form is out of date or did not come from this dashboard. Reload the page and try again."))
				return
			}
		}
		fn(w, r, rq)
	})
}

// inProject loads the project named in the path, if the session may see it.
func (h *Handler) inProject(fn projectHandler) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, rq *request) {
		id, err := strconv.ParseInt(r.PathValue("pid"), 10, 64)
		if err != nil || (rq.session.Kind == "project" && id != rq.session.Project) {
			h.fail(w, r, rq, satchel.Errorf(satchel.KindNotFound, satchel.ReasonPageNotFound, "No such project."))
			return
		}
		p, err := h.app.Store.ProjectByID(r.Context(), id)
		if err != nil {
			h.fail(w, r, rq, notFoundOr(err, "No such project."))
			return
		}
		rq.project = p
		fn(w, r, rq)
	}
}

func notFoundOr(err error, msg string) error {
	if satchel.IsNotFound(err) {
		return satchel.Errorf(satchel.KindNotFound, satchel.ReasonPageNotFound, "%s", msg)
	}
	return err
}

// view is the data every page template gets.
type view struct {
	Title   string
	Nav     string
	Admin   bool
	Signed  bool
	CSRF    string
	Project *satchel.Project
	Notice  string
	Error   string
	Data    any
}

func (h *Handler) newView(rq *request, title, nav string, data any) *view {
	v := &view{Title: title, Nav: nav, Data: data}
	if rq != nil {
		v.Signed = true
		v.Admin = rq.session.Kind == "admin"
		v.CSRF = rq.csrf
		v.Project = rq.project
	}
	return v
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t := h.pages[page]
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		h.log.ErrorContext(r.Context(), "dashboard: render", "page", page, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// statusOf is the dashboard's status for a kind of error: the usual one,
// but 410 for an expired link (the page is gone, not forbidden).
func statusOf(k satchel.Kind) int {
	if k == satchel.KindExpired {
		return http.StatusGone
	}
	return httpx.Status(k)
}

// fail shows an error page with the error's status; unexpected errors are
// logged and shown as a generic message.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	var se *satchel.Error
	status, msg := http.StatusInternalServerError, "Something went wrong. Try again later."
	if errors.As(err, &se) {
		status, msg = statusOf(se.Kind), se.Message
		if se.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(se.RetryAfter))
		}
	} else {
		h.log.ErrorContext(r.Context(), "dashboard", "path", r.URL.Path, "err", err)
	}
	v := h.newView(rq, "Error", "", nil)
	if rq == nil {
		v = &view{Title: "Error"}
	}
	v.Error = msg
	h.render(w, r, status, "error", v)
}

// back redirects after a successful POST, with a notice code for the page.
func back(w http.ResponseWriter, r *http.Request, path, notice string) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

var notices = map[string]string{
	"stored":      "The file is stored.",
	"deleted":     "The file was deleted.",
	"metadata":    "Metadata saved.",
	"tags":        "Tags saved.",
	"group":       "The group was deleted.",
	"webhook":     "Webhook saved.",
	"unsub":       "Webhook deleted.",
	"redeliver":   "The delivery is queued to be sent again.",
	"settings":    "Settings saved.",
	"signedout":   "You are signed out.",
	"metadatadel": "Metadata key removed.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	key, err := h.sessionKey(r.Context())
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	s := h.currentSession(r, key)
	switch {
	case s == nil:
		http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
	case s.Kind == "admin":
		http.Redirect(w, r, "/dashboard/projects", http.StatusSeeOther)
	default:
		http.Redirect(w, r, projectPath(s.Project, "/"), http.StatusSeeOther)
	}
}

func projectPath(id int64, rest string) string {
	return "/dashboard/p/" + strconv.FormatInt(id, 10) + rest
}

type signinData struct {
	Token     string
	Next      string
	PublicKey string
	HasAdmin  bool
}

// signinForm shows the sign-in forms; a cookie-bound token protects them
// against forged sign-ins.
func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	h.showSignin(w, r, http.StatusOK, "", "", notice(r))
}

func (h *Handler) showSignin(w http.ResponseWriter, r *http.Request, status int, pub, errMsg, note string) {
	// One token per browser, so that two open sign-in forms both work.
	tok := randomID()
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) >= 24 && len(c.Value) <= 64 {
		tok = c.Value
	}
	h.setCookie(w, r, signinCookie, tok, 3600, true)
	v := &view{Title: "Sign in", Error: errMsg, Notice: note, Data: signinData{Token: tok, Next: safeNext(r.FormValue("next")), PublicKey: pub, HasAdmin: h.cfg.AdminToken != ""}}
	h.render(w, r, status, "signin", v)
}

// safeNext keeps a post-sign-in redirect inside the dashboard.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/dashboard/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return ""
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonFormInvalid, "The form could not be read."))
		return
	}
	c, err := r.Cookie(signinCookie)
	tok := r.PostForm.Get("csrf")
	if err != nil || tok == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(tok)) != 1 {
		h.fail(w, r, nil, satchel.Errorf(satchel.KindForbidden, satchel.ReasonFormForged, "The sign-in form is out of date. Reload the page and try again."))
		return
	}
	ip, _ := httpx.ClientIP(r, h.cfg.TrustedProxies)
	if left, ok := h.signinLimit.blocked(ip); ok {
		h.fail(w, r, nil, &satchel.Error{Kind: satchel.KindThrottled, Reason: satchel.ReasonSigninLimit,
			Message: "Too many failed sign-ins from your address. Try again later.", RetryAfter: int((left + time.Second - 1) / time.Second)})
		return
	}
	failed := func() {
		if h.signinLimit.fail(ip) {
			h.log.WarnContext(r.Context(), "dashboard: sign-ins refused after repeated failures", "client", ip, "window", h.cfg.SigninWindow)
		}
	}
	key, err := h.sessionKey(r.Context())
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if admin := r.PostForm.Get("admin_token"); admin != "" || r.PostForm.Get("kind") == "admin" {
		if h.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(admin), []byte(h.cfg.AdminToken)) != 1 {
			h.log.WarnContext(r.Context(), "dashboard: refused administrator sign-in", "client", ip)
			failed()
			h.showSignin(w, r, http.StatusUnauthorized, "", "The administrator token is not valid.", "")
			return
		}
		h.startSession(w, r, key, &session{Kind: "admin", Fingerprint: adminFingerprint(key, h.cfg.AdminToken)})
		if next == "" {
			next = "/dashboard/projects"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	pub, secret := strings.TrimSpace(r.PostForm.Get("public_key")), r.PostForm.Get("secret_key")
	refuse := func() {
		failed()
		h.showSignin(w, r, http.StatusUnauthorized, pub, "The public key and secret key do not match a project.", "")
	}
	if pub == "" || secret == "" {
		refuse()
		return
	}
	p, err := h.app.Store.ProjectByPublicKey(r.Context(), pub)
	if satchel.IsNotFound(err) {
		refuse()
		return
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if err := h.app.Throttle(p.ID); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(p.SecretKey)) != 1 {
		refuse()
		return
	}
	h.startSession(w, r, key, &session{Kind: "project", Project: p.ID, Fingerprint: projectFingerprint(key, p)})
	if next == "" || !strings.HasPrefix(next, projectPath(p.ID, "/")) {
		next = projectPath(p.ID, "/")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, rq *request) {
	h.setCookie(w, r, sessionCookie, "", -1, false)
	back(w, r, "/dashboard/signin", "signedout")
}

type projectRow struct {
	P     *satchel.Project
	Usage *app.Usage
}

func (h *Handler) projects(w http.ResponseWriter, r *http.Request, rq *request) {
	if rq.session.Kind != "admin" {
		http.Redirect(w, r, projectPath(rq.session.Project, "/"), http.StatusSeeOther)
		return
	}
	ps, err := h.app.Store.Projects(r.Context())
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	rows := make([]projectRow, 0, len(ps))
	for _, p := range ps {
		u, err := h.app.ProjectUsage(r.Context(), p)
		if err != nil {
			h.fail(w, r, rq, err)
			return
		}
		rows = append(rows, projectRow{P: p, Usage: u})
	}
	h.render(w, r, http.StatusOK, "projects", h.newView(rq, "Projects", "projects", rows))
}

// formBool reads a checkbox.
func formBool(r *http.Request, name string) bool {
	switch r.PostForm.Get(name) {
	case "on", "1", "true", "yes":
		return true
	}
	return false
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' || r == '\t' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
