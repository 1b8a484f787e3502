package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each answer of the dashboard.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	// header is added to every request.
	header http.Header
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, body := b.do("GET", path, nil)
	return resp.StatusCode, body
}

// page GETs a page that must answer 200 and returns its body.
func (b *browser) page(path string) string {
	b.t.Helper()
	code, body := b.get(path)
	if code != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in page: %.300s", body)
	}
	return m[1]
}

// post submits a form with the CSRF token of the page at from; it must
// redirect (303) and returns the Location.
func (b *browser) post(from, path string, form url.Values) string {
	b.t.Helper()
	form.Set("csrf", csrfOf(b.t, b.page(from)))
	resp, body := b.do("POST", path, form)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// signIn signs in with a project's keys and returns the project's base path.
func (b *browser) signIn(pub, secret string) string {
	b.t.Helper()
	form := url.Values{"public_key": {pub}, "secret_key": {secret}, "csrf": {csrfOf(b.t, b.page("/dashboard/signin"))}}
	resp, body := b.do("POST", "/dashboard/signin", form)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	return strings.TrimSuffix(resp.Header.Get("Location"), "/")
}

func dashServer(t *testing.T) *testServer {
	return startServer(t, func(c *server.Config) { c.AdminToken = "admin-token-for-tests" })
}

// uploadTo posts one file to /base/ of the demo project.
func uploadTo(t *testing.T, base, name string, data []byte, store string) string {
	t.Helper()
	code, _, body := postMultipart(t, base+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", store}}, []part{{"file", name, data}})
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out["file"]
}

func TestDashboardSignIn(t *testing.T) {
	s := dashServer(t)
	b := newBrowser(t, s.URL)

	// Signed out: pages send to the sign-in form, POSTs are refused.
	resp, _ := b.do("GET", "/dashboard/p/1/files", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/dashboard/signin") {
		t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("POST", "/dashboard/p/1/settings", url.Values{"name": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("signed-out POST: %d", resp.StatusCode)
	}

	form := b.page("/dashboard/signin")
	if !strings.Contains(form, `<label for="secret_key">`) || !strings.Contains(form, `<main id="main"`) {
		t.Fatal("sign-in form lacks labels or landmarks")
	}
	// Wrong secret, unknown key, wrong admin token: refused, no session.
	for _, f := range []url.Values{
		{"public_key": {testPub}, "secret_key": {"wrong"}},
		{"public_key": {"nosuchkey"}, "secret_key": {testSecret}},
		{"kind": {"admin"}, "admin_token": {"wrong"}},
	} {
		f.Set("csrf", csrfOf(t, b.page("/dashboard/signin")))
		resp, body := b.do("POST", "/dashboard/signin", f)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `role="alert"`) {
			t.Fatalf("bad credentials %v: %d", f, resp.StatusCode)
		}
		if code, _ := b.get("/dashboard/p/1/"); code != http.StatusSeeOther {
			t.Fatalf("bad credentials %v opened a session", f)
		}
	}
	// A sign-in without the form's token is refused (login CSRF).
	if resp, _ := b.do("POST", "/dashboard/signin", url.Values{"public_key": {testPub}, "secret_key": {testSecret}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without token: %d", resp.StatusCode)
	}

	f := url.Values{"public_key": {testPub}, "secret_key": {testSecret}, "csrf": {csrfOf(t, b.page("/dashboard/signin"))}}
	resp, _ = b.do("POST", "/dashboard/signin", f)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/p/1/" {
		t.Fatalf("sign in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "satchel_dashboard" {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/dashboard/" || sc.Secure {
		t.Fatalf("session cookie: %+v", sc)
	}
	if strings.Contains(sc.Value, testSecret) {
		t.Fatal("the session cookie carries the secret")
	}
	resp, body := b.do("GET", "/dashboard/p/1/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, testPub) {
		t.Fatalf("overview: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", resp.Header)
	}
	// A forged cookie is no session.
	u, _ := url.Parse(s.URL + "/dashboard/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "satchel_dashboard", Value: sc.Value[:len(sc.Value)-2] + "AA", Path: "/dashboard/"}})
	if code, _ := b.get("/dashboard/p/1/"); code != http.StatusSeeOther {
		t.Fatalf("tampered cookie accepted: %d", code)
	}

	// Another project's pages stay closed to this project's session.
	other := &satchel.Project{Name: "other", PublicKey: "otherpub", SecretKey: "othersecret"}
	if err := s.Store.CreateProject(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	b.signIn(testPub, testSecret)
	if code, _ := b.get(fmt.Sprintf("/dashboard/p/%d/files", other.ID)); code != http.StatusNotFound {
		t.Fatalf("other project: %d", code)
	}

	// The administrator sees every project.
	a := newBrowser(t, s.URL)
	f = url.Values{"kind": {"admin"}, "admin_token": {"admin-token-for-tests"}, "csrf": {csrfOf(t, a.page("/dashboard/signin"))}}
	if resp, _ := a.do("POST", "/dashboard/signin", f); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/projects" {
		t.Fatalf("admin sign in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	list := a.page("/dashboard/projects")
	if !strings.Contains(list, "otherpub") || !strings.Contains(list, testPub) {
		t.Fatal("admin project list incomplete")
	}
	a.page(fmt.Sprintf("/dashboard/p/%d/files", other.ID))

	// Signing out ends the session.
	loc := b.post("/dashboard/p/1/", "/dashboard/signout", url.Values{})
	if !strings.HasPrefix(loc, "/dashboard/signin") {
		t.Fatalf("sign out: %s", loc)
	}
	if code, _ := b.get("/dashboard/p/1/"); code != http.StatusSeeOther {
		t.Fatal("still signed in after signing out")
	}
	// Dashboard requests are not counted as REST API requests.
	_, metrics := newBrowser(t, s.URL).get("/metrics")
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "satchel_http_requests_total{") && strings.Contains(line, "/dashboard/") && !strings.Contains(line, `surface="other"`) {
			t.Errorf("dashboard request counted as: %s", line)
		}
	}
	if !strings.Contains(metrics, `route="GET /dashboard/p/{pid}/{$}"`) {
		t.Error("dashboard requests missing from the metrics")
	}
}

func TestDashboardCSRF(t *testing.T) {
	s := dashServer(t)
	id := uploadTo(t, s.URL, "a.png", pngBytes(t, 8, 8), "0")
	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)
	page := b.page(base + "/files/" + id)
	good := csrfOf(t, page)
	other := newBrowser(t, s.URL)
	other.signIn(testPub, testSecret)
	foreign := csrfOf(t, other.page(base+"/"))
	for name, tok := range map[string]string{"missing": "", "wrong": "x" + good, "other session": foreign} {
		form := url.Values{}
		if tok != "" {
			form.Set("csrf", tok)
		}
		for _, path := range []string{"/files/" + id + "/store", "/files/" + id + "/delete", "/settings", "/keys", "/webhooks"} {
			if resp, _ := b.do("POST", base+path, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s token, %s: %d, want 403", name, path, resp.StatusCode)
			}
		}
	}
	f, err := s.Store.File(context.Background(), 0, id)
	if err != nil || f.Stored != nil || f.Removed != nil {
		t.Fatalf("refused forms changed the file: %+v %v", f, err)
	}
	b.post(base+"/files/"+id, base+"/files/"+id+"/store", url.Values{})
	if f, _ := s.Store.File(context.Background(), 0, id); f.Stored == nil {
		t.Fatal("store with a valid token did not store")
	}
}

func TestDashboardFiles(t *testing.T) {
	s := dashServer(t)
	img := uploadTo(t, s.URL, "photo.png", pngBytes(t, 40, 30), "0")
	txt := uploadTo(t, s.URL, "notes.txt", []byte("hello dashboard"), "1")
	evil := storeFile(t, s, `<script>alert("x")</script>.png`, []byte("not really"))
	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)

	// Browse: thumbnails come from the CDN and answer images.
	list := b.page(base + "/files")
	thumb := "/" + img + "/-/preview/200x200/"
	if !strings.Contains(list, `src="`+thumb+`"`) || !strings.Contains(list, "notes.txt") {
		t.Fatalf("file list lacks the thumbnail or a file:\n%s", list)
	}
	resp, err := http.Get(s.URL + thumb)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
		t.Fatalf("thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Names are escaped, never markup.
	if strings.Contains(list, `<script>alert`) || !strings.Contains(list, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;.png`) {
		t.Fatal("a file name was not escaped")
	}
	if body := b.page(base + "/files/" + evil); strings.Contains(body, "<script>alert") {
		t.Fatal("a file name was not escaped on the detail page")
	}

	// Filters.
	has := func(q string, want ...string) {
		t.Helper()
		body := b.page(base + "/files?" + q)
		for _, id := range []string{img, txt, evil} {
			in := strings.Contains(body, "/files/"+id+`"`)
			wanted := false
			for _, w := range want {
				wanted = wanted || w == id
			}
			if in != wanted {
				t.Errorf("filter %q: file %s shown=%v, want %v", q, id, in, wanted)
			}
		}
	}
	has("", img, txt, evil)
	has("kind=image", img)
	has("kind=text", txt)
	has("state=temporary", img)
	has("state=stored", txt, evil)
	has("q=NOTES", txt)
	today := time.Now().UTC().Format("2006-01-02")
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	has("from="+today+"&to="+today, img, txt, evil)
	has("from=" + tomorrow)
	has("to=2001-01-01")
	has("order=old&from="+today, img, txt, evil)

	// Edit metadata and tags.
	detail := base + "/files/" + img
	b.post(detail, detail+"/metadata", url.Values{"key": {"subject"}, "value": {"a <b>cat</b>"}})
	b.post(detail, detail+"/tags", url.Values{"tags": {"Pets, summer"}})
	f, _ := s.Store.File(context.Background(), 0, img)
	if f.Metadata["subject"] != "a <b>cat</b>" || strings.Join(f.Tags, ",") != "pets,summer" {
		t.Fatalf("metadata/tags: %v %v", f.Metadata, f.Tags)
	}
	page := b.page(detail)
	if !strings.Contains(page, "a &lt;b&gt;cat&lt;/b&gt;") || !strings.Contains(page, `value="pets, summer"`) {
		t.Fatal("detail page does not show the metadata and tags")
	}
	// Bad metadata keys get the service's error.
	form := url.Values{"key": {"bad key!"}, "value": {"v"}, "csrf": {csrfOf(t, page)}}
	if resp, body := b.do("POST", detail+"/metadata", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("bad metadata key: %d", resp.StatusCode)
	}
	b.post(detail, detail+"/metadata/delete", url.Values{"key": {"subject"}})
	if f, _ := s.Store.File(context.Background(), 0, img); len(f.Metadata) != 0 {
		t.Fatalf("metadata not removed: %v", f.Metadata)
	}

	// CDN URL with operations.
	page = b.page(detail + "?ops=" + url.QueryEscape("resize/20x/"))
	if !strings.Contains(page, `value="/`+img+`/-/resize/20x/"`) {
		t.Fatal("URL with operations missing")
	}

	// Store, then delete.
	b.post(detail, detail+"/store", url.Values{})
	if f, _ := s.Store.File(context.Background(), 0, img); f.Stored == nil {
		t.Fatal("not stored")
	}
	b.post(detail, detail+"/delete", url.Values{})
	if f, _ := s.Store.File(context.Background(), 0, img); f.Removed == nil {
		t.Fatal("not deleted")
	}
	has("state=removed", img)
	has("", txt, evil)
	if page := b.page(base + "/"); !strings.Contains(page, `data-figure="removed">1<`) || !strings.Contains(page, `data-figure="stored">2<`) {
		t.Fatalf("usage figures wrong:\n%s", page)
	}
}

func TestDashboardPaging(t *testing.T) {
	s := dashServer(t)
	want := map[string]bool{}
	for i := 0; i < 60; i++ {
		want[storeFile(t, s, fmt.Sprintf("f%02d.bin", i), []byte{byte(i)})] = true
	}
	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)
	seen := map[string]bool{}
	linkRe := regexp.MustCompile(`href="/dashboard/p/1/files/([0-9a-f-]{36})"`)
	nextRe := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	path, pages := base+"/files", 0
	for path != "" {
		pages++
		body := b.page(path)
		for _, m := range linkRe.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("file %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := nextRe.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if pages != 2 || len(seen) != len(want) {
		t.Fatalf("%d pages, %d of %d files", pages, len(seen), len(want))
	}
}

func TestDashboardWebhooks(t *testing.T) {
	s := dashServer(t)
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)
	b.post(base+"/webhooks", base+"/webhooks", url.Values{"target_url": {recv.URL + "/hook"}, "event": {"file.uploaded"}, "version": {"0.7"}, "is_active": {"on"}, "signing_secret": {"s3cret"}})
	page := b.page(base + "/webhooks")
	if !strings.Contains(page, recv.URL+"/hook") {
		t.Fatal("webhook not listed")
	}
	// A bad target is refused with the service's message.
	form := url.Values{"target_url": {"ftp://x"}, "event": {"file.uploaded"}, "version": {"0.7"}, "csrf": {csrfOf(t, page)}}
	if resp, body := b.do("POST", base+"/webhooks", form); resp.StatusCode != 400 || !strings.Contains(body, "target_url") {
		t.Fatalf("bad target: %d", resp.StatusCode)
	}

	uploadTo(t, s.URL, "hooked.png", pngBytes(t, 4, 4), "1")
	deadline := time.Now().Add(15 * time.Second)
	var log string
	for {
		log = b.page(base + "/webhooks")
		if strings.Contains(log, `class="status delivered"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery in the log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if count() != 1 || !strings.Contains(log, "HTTP 204") {
		t.Fatalf("deliveries received: %d", count())
	}

	// Redeliver sends the same delivery again.
	m := regexp.MustCompile(`action="(/dashboard/p/1/deliveries/[^"]+/redeliver)"`).FindStringSubmatch(log)
	if m == nil {
		t.Fatal("no redeliver button")
	}
	b.post(base+"/webhooks", m[1], url.Values{})
	for count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("redelivery never arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	same := got[0] == got[1]
	mu.Unlock()
	if !same {
		t.Fatal("the redelivery's payload differs")
	}

	// Pause, then delete the subscription.
	id := regexp.MustCompile(`/webhooks/(\d+)/delete`).FindStringSubmatch(b.page(base + "/webhooks"))[1]
	b.post(base+"/webhooks", base+"/webhooks/"+id+"/update", url.Values{})
	hooks, _ := s.App.Webhooks(context.Background(), s.Demo)
	if len(hooks) != 1 || hooks[0].IsActive {
		t.Fatalf("webhook not paused: %+v", hooks)
	}
	b.post(base+"/webhooks", base+"/webhooks/"+id+"/delete", url.Values{})
	if hooks, _ := s.App.Webhooks(context.Background(), s.Demo); len(hooks) != 0 {
		t.Fatal("webhook not deleted")
	}
}

func TestDashboardSettingsAndKeys(t *testing.T) {
	s := dashServer(t)
	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)
	b.post(base+"/settings", base+"/settings", url.Values{"name": {"renamed"}, "signed_uploads": {""}, "max_file_size": {"1000"}, "allowed_types": {"image/*, application/pdf"}})
	p, err := s.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil || p.Name != "renamed" || p.Autostore || p.MaxFileSize != 1000 || strings.Join(p.AllowedTypes, ",") != "image/*,application/pdf" {
		t.Fatalf("settings not saved: %+v %v", p, err)
	}
	// The rules apply at once: a text upload is refused now.
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "a.txt", []byte("text")}})
	if code == 200 {
		t.Fatalf("a type the settings forbid was accepted: %s", body)
	}
	page := b.page(base + "/settings")
	form := url.Values{"name": {"x"}, "allowed_types": {"not a type"}, "csrf": {csrfOf(t, page)}}
	if resp, _ := b.do("POST", base+"/settings", form); resp.StatusCode != 400 {
		t.Fatalf("bad allowed type: %d", resp.StatusCode)
	}

	// Rotation: the new secret is shown once, the old one stops working,
	// this session goes on and sessions opened with the old secret end.
	old := newBrowser(t, s.URL)
	old.signIn(testPub, testSecret)
	form = url.Values{"which": {"secret"}, "csrf": {csrfOf(t, page)}}
	resp, body := b.do("POST", base+"/keys", form)
	if resp.StatusCode != 200 {
		t.Fatalf("rotate: %d %s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`<code data-key="secret">([0-9a-f]+)</code>`).FindStringSubmatch(body)
	if m == nil || m[1] == testSecret {
		t.Fatal("new secret not shown")
	}
	p, _ = s.Store.ProjectByPublicKey(context.Background(), testPub)
	if p.SecretKey != m[1] {
		t.Fatal("shown secret differs from the stored one")
	}
	rest := func(secret string) int {
		req, _ := http.NewRequest("GET", s.URL+"/files/", nil)
		req.Header.Set("Authorization", "Uploadcare.Simple "+testPub+":"+secret)
		req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := rest(testSecret); c != http.StatusUnauthorized && c != http.StatusForbidden {
		t.Fatalf("old secret still works on the REST API: %d", c)
	}
	if c := rest(m[1]); c != 200 {
		t.Fatalf("new secret refused: %d", c)
	}
	b.page(base + "/")
	if code, _ := old.get(base + "/"); code != http.StatusSeeOther {
		t.Fatalf("a session of the old secret lives on: %d", code)
	}
	if page := b.page(base + "/settings"); strings.Contains(page, m[1]) {
		t.Fatal("the secret is shown again")
	}
}

func TestDashboardGroups(t *testing.T) {
	s := dashServer(t)
	a := uploadTo(t, s.URL, "a.png", pngBytes(t, 8, 8), "1")
	c := uploadTo(t, s.URL, "c.txt", []byte("c"), "1")
	g := makeGroup(t, s, []string{a + "/-/resize/4x/", c})
	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)
	if list := b.page(base + "/groups"); !strings.Contains(list, base+"/groups/"+g+`"`) {
		t.Fatal("group not listed")
	}
	page := b.page(base + "/groups/" + g)
	if !strings.Contains(page, `src="/`+a+`/-/preview/200x200/"`) || !strings.Contains(page, "-/resize/4x/") || !strings.Contains(page, "c.txt") || !strings.Contains(page, `value="/`+g+`/"`) {
		t.Fatalf("group page incomplete:\n%s", page)
	}
	b.post(base+"/groups/"+g, base+"/groups/"+g+"/delete", url.Values{})
	if code, _ := b.get(base + "/groups/" + g); code != http.StatusNotFound {
		t.Fatalf("deleted group: %d", code)
	}
	if f, _ := s.Store.File(context.Background(), 0, a); f.Removed != nil {
		t.Fatal("deleting the group removed a member")
	}
}

// TestDashboardSecureDelivery checks that thumbnails of a project with
// secure delivery carry a token the CDN accepts.
func TestDashboardSecureDelivery(t *testing.T) {
	s := dashServer(t)
	id := uploadTo(t, s.URL, "a.png", pngBytes(t, 16, 16), "1")
	p := *s.Demo
	p.SecureDeliverySecret = "00112233445566778899aabbccddeeff"
	if err := s.Store.UpdateProject(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL)
	base := b.signIn(testPub, testSecret)
	m := regexp.MustCompile(`src="(/` + id + `/-/preview/200x200/\?token=[^"]+)"`).FindStringSubmatch(b.page(base + "/files"))
	if m == nil {
		t.Fatal("thumbnail without a token")
	}
	plain, err := http.Get(s.URL + "/" + id + "/-/preview/200x200/")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	signed, err := http.Get(s.URL + strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	signed.Body.Close()
	if plain.StatusCode != http.StatusForbidden || signed.StatusCode != 200 {
		t.Fatalf("without token %d, with token %d", plain.StatusCode, signed.StatusCode)
	}
}

// TestDashboardSecureCookie checks that behind a TLS-terminating proxy the
// session cookie is Secure.
func TestDashboardSecureCookie(t *testing.T) {
	s := startServer(t, func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", s.URL+"/dashboard/signin", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The jar keeps Secure cookies from an http:// URL only for https://;
	// send the sign-in token by hand.
	var tok string
	for _, ck := range resp.Cookies() {
		if ck.Name == "satchel_dashboard_signin" {
			tok = ck.Value
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Fatalf("sign-in cookie: %+v", ck)
			}
		}
	}
	if tok == "" || csrfOf(t, string(page)) != tok {
		t.Fatal("no sign-in token")
	}
	req, _ = http.NewRequest("POST", s.URL+"/dashboard/signin", strings.NewReader(url.Values{"public_key": {testPub}, "secret_key": {testSecret}, "csrf": {tok}}.Encode()))
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "satchel_dashboard_signin", Value: tok})
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "satchel_dashboard" {
			sc = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie over TLS: %d %+v", resp.StatusCode, sc)
	}
}

// TestDashboardSigninLimit: after ten failed sign-ins from one address its
// sign-ins are refused with 429 on the dashboard's error page, even with
// the right keys, while another client (behind a trusted proxy) still
// signs in.
func TestDashboardSigninLimit(t *testing.T) {
	s := startServer(t, func(c *server.Config) {
		c.AdminToken = "admin-token-for-tests"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	attempt := func(b *browser, xff string, f url.Values) (*http.Response, string) {
		t.Helper()
		b.header = http.Header{"X-Forwarded-For": {xff}}
		f.Set("csrf", csrfOf(t, b.page("/dashboard/signin")))
		return b.do("POST", "/dashboard/signin", f)
	}
	b := newBrowser(t, s.URL)
	const attacker = "198.51.100.7"
	for i := range 10 {
		f := url.Values{"public_key": {testPub}, "secret_key": {fmt.Sprintf("guess%d", i)}}
		if i%2 == 1 {
			f = url.Values{"kind": {"admin"}, "admin_token": {fmt.Sprintf("guess%d", i)}}
		}
		if resp, _ := attempt(b, attacker, f); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := attempt(b, attacker, url.Values{"public_key": {testPub}, "secret_key": {testSecret}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins") || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("11th attempt: %d %.300s", resp.StatusCode, body)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	if code, _ := b.get("/dashboard/p/1/"); code != http.StatusSeeOther {
		t.Fatal("a refused sign-in opened a session")
	}
	other := newBrowser(t, s.URL)
	if resp, _ := attempt(other, "203.0.113.9", url.Values{"public_key": {testPub}, "secret_key": {testSecret}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
}
