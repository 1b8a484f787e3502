package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestCDNAnnotationGroups: the Uploadcare uploader's editor previews end in
// "-/@clib/<lib>/<version>/<component>/"; the CDN ignores such groups and
// serves the same variant as without them.
func TestCDNAnnotationGroups(t *testing.T) {
	s := startServer(t, nil)
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "photo.png", pngBytes(t, 40, 30)}})
	if code != 200 {
		t.Fatal(body)
	}
	id := strings.Split(body, `"`)[3]
	plain, pb := get(t, s.URL+"/"+id+"/-/resize/10x/", nil)
	if plain.StatusCode != 200 {
		t.Fatalf("plain: %d %s", plain.StatusCode, pb)
	}
	for _, p := range []string{
		"/-/resize/10x/-/@clib/a/1/b/",
		"/-/@clib/blocks/1.2.0/uc-img/-/resize/10x/",
		"/-/resize/10x/-/@clib/blocks/1.2.0/uc-cloud-image-editor/",
	} {
		resp, b := get(t, s.URL+"/"+id+p, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, b)
		}
		if w, h, _ := imageSize(t, b); w != 10 || h != 8 {
			t.Errorf("%s: %dx%d", p, w, h)
		}
		if resp.Header.Get("ETag") != plain.Header.Get("ETag") {
			t.Errorf("%s: ETag %q, want the plain variant's %q", p, resp.Header.Get("ETag"), plain.Header.Get("ETag"))
		}
	}
	// An editor preview URL with a full chain of operations.
	resp, b := get(t, s.URL+"/"+id+"/-/format/auto/-/progressive/yes/-/brightness/50/-/quality/normal/-/stretch/off/-/resize/20x/-/@clib/blocks/1.2.0/uc-cloud-image-editor/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("editor preview: %d %s", resp.StatusCode, b)
	}
	// Only annotations: the original.
	resp, b = get(t, s.URL+"/"+id+"/-/@clib/blocks/1.2.0/uc-img/", nil)
	if w, h, _ := imageSize(t, b); resp.StatusCode != 200 || w != 40 || h != 30 {
		t.Fatalf("annotation only: %d %dx%d", resp.StatusCode, w, h)
	}
}

// TestUploadPreflightMaxAge: preflight answers may be cached by the browser
// for a day, so multipart part PUTs are not each preceded by an OPTIONS.
func TestUploadPreflightMaxAge(t *testing.T) {
	s := startServer(t, nil)
	for _, p := range []string{"/base/", "/multipart/start/", "/multipart/part/00000000-0000-4000-8000-000000000000/", "/multipart/complete/", "/from_url/", "/group/"} {
		req, _ := http.NewRequest("OPTIONS", s.URL+p, nil)
		req.Header.Set("Origin", "http://app.example")
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "content-type, x-uc-user-agent")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		age, _ := strconv.Atoi(resp.Header.Get("Access-Control-Max-Age"))
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || age < 3600 {
			t.Errorf("OPTIONS %s: %d, Max-Age %q", p, resp.StatusCode, resp.Header.Get("Access-Control-Max-Age"))
		}
	}
}

// TestMultipartStartChecksTypeAndSize: /multipart/start/ refuses a declared
// type (or, for application/octet-stream, the filename's type) the project
// does not allow, and a size over its cap, before any byte travels; the
// bytes are still checked at complete.
func TestMultipartStartChecksTypeAndSize(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	p, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	p.MaxFileSize = 20 << 20
	p.AllowedTypes = []string{"image/*", "text/plain"}
	if err := s.Store.UpdateProject(ctx, p); err != nil { // before any request: nothing cached yet
		t.Fatal(err)
	}
	const forbidden = "Uploading of these file types is not allowed."
	// The direct upload's answer for a disallowed type, for reference.
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "a.zip", []byte("PK\x03\x04zipzipzip")}})
	if code != 400 || body != forbidden {
		t.Fatalf("direct upload of a zip: %d %q", code, body)
	}
	start := func(q, filename, ctype string, size int) (int, string) {
		return postURLEncoded(t, s.URL+"/multipart/start/"+q, url.Values{"UPLOADCARE_PUB_KEY": {testPub},
			"filename": {filename}, "size": {strconv.Itoa(size)}, "content_type": {ctype}})
	}
	const mb11, mib30 = 11 * 1000 * 1000, 30 << 20
	for _, c := range []struct {
		filename, ctype string
		size            int
		code            int
		body            string
	}{
		{"a.zip", "application/zip", mib30 / 2, 400, forbidden},
		{"a.zip", "Application/ZIP", mb11, 400, forbidden},
		{"doc.pdf", "application/octet-stream", mb11, 400, forbidden},
		{"/home/me/doc.PDF", "application/octet-stream; x=y", mb11, 400, forbidden},
		{"big.png", "image/png", mib30, 400, "File size exceeds project limit."},
		{"big.zip", "application/zip", mib30, 400, "File size exceeds project limit."},
		{"notes.txt", "text/plain; charset=utf-8", mb11, 200, `"parts"`},
		{"photo", "application/octet-stream", mb11, 200, `"parts"`},
		{"photo.png", "application/octet-stream", mb11, 200, `"parts"`},
	} {
		code, body := start("", c.filename, c.ctype, c.size)
		if code != c.code || !strings.Contains(body, c.body) {
			t.Errorf("start %q %q %d: %d %q, want %d %q", c.filename, c.ctype, c.size, code, body, c.code, c.body)
		}
	}
	// The browser uploader's error form.
	code, body = start("?jsonerrors=1", "a.zip", "application/zip", mb11)
	var je struct {
		Error struct {
			Content    string `json:"content"`
			StatusCode int    `json:"status_code"`
			ErrorCode  string `json:"error_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &je); err != nil || code != 200 || je.Error.Content != forbidden ||
		je.Error.StatusCode != 400 || je.Error.ErrorCode != "FileTypeForbiddenError" {
		t.Fatalf("jsonerrors start: %d %q", code, body)
	}
	// A declared image whose bytes are not: refused at complete.
	code, body = start("", "fake.png", "image/png", mb11)
	if code != 200 {
		t.Fatalf("start: %d %q", code, body)
	}
	var st struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	json.Unmarshal([]byte(body), &st)
	data := randomBytes(t, mb11)
	for i, u := range st.Parts {
		end := min((i+1)*5242880, mb11)
		if code, _, body := do(t, "PUT", u, bytes.NewReader(data[i*5242880:end]), "image/png"); code != 200 {
			t.Fatalf("part %d: %d %q", i+1, code, body)
		}
	}
	code, body = postURLEncoded(t, s.URL+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {st.UUID}})
	if code != 400 || body != forbidden {
		t.Fatalf("complete of a non-image: %d %q", code, body)
	}
}

// logCapture is a slog handler that keeps every record.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// accessed reports whether the access line of a request whose path contains
// s was logged.
func (c *logCapture) accessed(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recs {
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = a.Key == "path" && strings.Contains(a.Value.String(), s)
			return !found
		})
		if r.Message == "http request" && found {
			return true
		}
	}
	return false
}

// about returns the records other than access lines with an attribute
// containing s.
func (c *logCapture) about(s string) []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []slog.Record
	for _, r := range c.recs {
		if r.Message == "http request" {
			continue // the access line every request gets
		}
		r.Attrs(func(a slog.Attr) bool {
			if strings.Contains(a.Value.String(), s) {
				out = append(out, r)
				return false
			}
			return true
		})
	}
	return out
}

// sendCut writes an HTTP/1.1 request declaring more body than it sends,
// then hangs up, as a cancelled browser upload does.
func sendCut(t *testing.T, base, method, path, ctype string, body []byte, declared int) {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", method, path, u.Host, ctype, declared)
	c.Write(body)
	time.Sleep(50 * time.Millisecond) // let the server start reading the body
	c.Close()
}

// TestUploadClientAbortIsNotAnError: a part PUT or a direct upload whose
// client hangs up mid-body is logged at info, not as a server error.
func TestUploadClientAbortIsNotAnError(t *testing.T) {
	logs := &logCapture{}
	s := startServer(t, func(c *server.Config) { c.Log = slog.New(logs) })
	code, body := postURLEncoded(t, s.URL+"/multipart/start/", url.Values{"UPLOADCARE_PUB_KEY": {testPub},
		"filename": {"big.bin"}, "size": {"11000000"}, "content_type": {"application/octet-stream"}})
	if code != 200 {
		t.Fatalf("start: %d %q", code, body)
	}
	var st struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	json.Unmarshal([]byte(body), &st)
	pu, _ := url.Parse(st.Parts[0])
	sendCut(t, s.URL, "PUT", pu.RequestURI(), "application/octet-stream", randomBytes(t, 100000), 5242880)

	mb, ctype := multipartBody(t, [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "photo.bin", randomBytes(t, 300000)}})
	var buf bytes.Buffer
	buf.ReadFrom(mb)
	sendCut(t, s.URL, "POST", "/base/", ctype, buf.Bytes()[:200000], buf.Len())

	for _, p := range []string{"/multipart/part/" + st.UUID + "/", "/base/"} {
		// Wait for the request to end (its access line), then look at what
		// else was logged about it: at most one record, below warning.
		deadline := time.Now().Add(20 * time.Second)
		for !logs.accessed(p) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !logs.accessed(p) {
			t.Fatalf("%s: the request never ended", p)
		}
		recs := logs.about(p)
		if len(recs) > 1 {
			t.Fatalf("%s: %d log records, want at most 1", p, len(recs))
		}
		for _, r := range recs {
			if r.Level >= slog.LevelWarn {
				t.Errorf("%s: logged at %v: %s", p, r.Level, r.Message)
			}
		}
	}
	// The session is intact: the part can be sent again.
	data := randomBytes(t, 5242880)
	if code, _, body := do(t, "PUT", st.Parts[0], bytes.NewReader(data), "application/octet-stream"); code != 200 {
		t.Fatalf("part again: %d %q", code, body)
	}
}

// fromURLDone polls /from_url/status/ until the task ends and returns the
// final status body.
func fromURLDone(t *testing.T, base, startBody string) map[string]any {
	t.Helper()
	var tok struct{ Type, Token string }
	if err := json.Unmarshal([]byte(startBody), &tok); err != nil || tok.Type != "token" || tok.Token == "" {
		t.Fatalf("from_url answer %q", startBody)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, body := do(t, "GET", base+"/from_url/status/?jsonerrors=1&token="+tok.Token, nil, "")
		var st map[string]any
		json.Unmarshal([]byte(body), &st)
		if st["status"] == "success" || st["status"] == "error" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("from_url task did not end: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFromURLGetForm: GET /from_url/ with every parameter in the query (as
// the jQuery widget 3.x sends it, empty signature/expire/filename and a
// cache-busting "_" included) is answered exactly like the POST.
func TestFromURLGetForm(t *testing.T) {
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(t, 12, 8))
	}))
	defer src.Close()
	s := startServer(t, nil)
	widget := func(v url.Values) string {
		q := url.Values{"pub_key": {testPub}, "signature": {""}, "expire": {""}, "source_url": {src.URL + "/pics/cat.png"},
			"filename": {""}, "source": {"url-tab"}, "store": {"auto"}, "jsonerrors": {"1"}, "_": {"1700000000000"}}
		for k, vs := range v {
			q[k] = vs
		}
		return s.URL + "/from_url/?" + q.Encode()
	}
	// The GET form and the POST form give the same kind of answer and file.
	code, hdr, body := do(t, "GET", widget(nil), nil, "")
	if code != 200 || hdr.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /from_url/: %d %v %q", code, hdr, body)
	}
	get := fromURLDone(t, s.URL, body)
	// HEAD matches the GET route but must not start a download.
	if code, _, _ := do(t, "HEAD", widget(nil), nil, ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("HEAD /from_url/: %d, want 405", code)
	}
	code, body = postURLEncoded(t, s.URL+"/from_url/", url.Values{"pub_key": {testPub}, "source_url": {src.URL + "/pics/cat.png"}, "store": {"auto"}})
	if code != 200 {
		t.Fatalf("POST /from_url/: %d %q", code, body)
	}
	post := fromURLDone(t, s.URL, body)
	for _, k := range []string{"status", "original_filename", "is_image", "is_stored", "mime_type", "size"} {
		if fmt.Sprint(get[k]) != fmt.Sprint(post[k]) {
			t.Errorf("%s: GET %v, POST %v", k, get[k], post[k])
		}
	}
	if get["status"] != "success" || get["original_filename"] != "cat.png" || get["is_image"] != true {
		t.Fatalf("GET result: %v", get)
	}
	// Errors: the widget's JSON form and the plain form, like the POST.
	code, _, body = do(t, "GET", widget(url.Values{"pub_key": {"nope"}}), nil, "")
	_, postBody := postURLEncoded(t, s.URL+"/from_url/?jsonerrors=1", url.Values{"pub_key": {"nope"}, "source_url": {src.URL + "/pics/cat.png"}})
	if code != 200 || body != postBody || !strings.Contains(body, `"content":"pub_key is invalid."`) {
		t.Fatalf("GET bad key, jsonerrors: %d %q (POST %q)", code, body, postBody)
	}
	_, postBody = postURLEncoded(t, s.URL+"/from_url/", url.Values{"pub_key": {testPub}, "source_url": {"ftp://example.com/x"}})
	code, _, body = do(t, "GET", s.URL+"/from_url/?pub_key="+testPub+"&source_url=ftp://example.com/x", nil, "")
	if code != 400 || body != postBody || body != "Invalid URL scheme." {
		t.Fatalf("GET bad scheme: %d %q (POST %q)", code, body, postBody)
	}
	// A browser preflights the widget's X-UC-User-Agent header.
	req, _ := http.NewRequest("OPTIONS", s.URL+"/from_url/", nil)
	req.Header.Set("Origin", "http://app.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "x-uc-user-agent")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// /from_url/status/ is still its own route.
	if code, _, body := do(t, "GET", s.URL+"/from_url/status/?token=nope", nil, ""); code != 200 || !strings.Contains(body, `"status":"unknown"`) {
		t.Fatalf("status route: %d %q", code, body)
	}

	// Signed uploads: the GET form checks signature and expire like the
	// POST (a second node whose project requires them, set before any
	// request so that no cached project is in the way).
	s2 := startServer(t, nil)
	p, err := s2.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil {
		t.Fatal(err)
	}
	p.SignedUploads = true
	if err := s2.Store.UpdateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	signed := s2.URL
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	sig := app.UploadSignature(testSecret, mustInt(exp))
	for _, c := range []struct {
		sig, exp string
		want     string
	}{
		{"", "", "`signature` is required."},
		{sig, "", "`expire` is required."},
		{"00" + sig[2:], exp, "Invalid signature."},
	} {
		u := strings.Replace(widget(url.Values{"signature": {c.sig}, "expire": {c.exp}}), s.URL, signed, 1)
		code, _, body := do(t, "GET", u, nil, "")
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("GET signed %q/%q: %d %q, want %q", c.sig, c.exp, code, body, c.want)
		}
	}
	u := strings.Replace(widget(url.Values{"signature": {sig}, "expire": {exp}}), s.URL, signed, 1)
	code, _, body = do(t, "GET", u, nil, "")
	if code != 200 {
		t.Fatalf("GET signed: %d %q", code, body)
	}
	if st := fromURLDone(t, signed, body); st["status"] != "success" {
		t.Fatalf("GET signed result: %v", st)
	}
}

func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

// TestCDNNamedFilters: the editor's Filters tab asks for a thumbnail of
// every named filter; each answers an image, and the amount changes it.
func TestCDNNamedFilters(t *testing.T) {
	s := startServer(t, nil)
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "photo.png", pngBytes(t, 64, 48)}})
	if code != 200 {
		t.Fatal(body)
	}
	id := strings.Split(body, `"`)[3]
	for _, n := range cdnurl.FilterNames {
		p := "/" + id + "/-/format/auto/-/filter/" + n + "/100/-/quality/normal/-/scale_crop/32x32/center/-/@clib/blocks/1.2.0/uc-cloud-image-editor/"
		resp, b := get(t, s.URL+p, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", n, resp.StatusCode, b)
			continue
		}
		if w, h, _ := imageSize(t, b); w != 32 || h != 32 {
			t.Errorf("%s: %dx%d", n, w, h)
		}
	}
	_, full := get(t, s.URL+"/"+id+"/-/filter/galen/-/format/png/", nil)
	_, half := get(t, s.URL+"/"+id+"/-/filter/galen/50/-/format/png/", nil)
	_, none := get(t, s.URL+"/"+id+"/-/filter/galen/0/-/format/png/", nil)
	_, orig := get(t, s.URL+"/"+id+"/-/format/png/", nil)
	if bytes.Equal(full, half) || bytes.Equal(full, orig) || !bytes.Equal(none, orig) {
		t.Errorf("amounts: full==half %v, full==orig %v, 0==orig %v", bytes.Equal(full, half), bytes.Equal(full, orig), bytes.Equal(none, orig))
	}
	if resp, b := get(t, s.URL+"/"+id+"/-/filter/nosuch/", nil); resp.StatusCode != 400 || !strings.Contains(string(b), "unknown filter") {
		t.Errorf("unknown filter: %d %s", resp.StatusCode, b)
	}
}
