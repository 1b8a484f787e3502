package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/server"
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

// about returns the records whose attributes mention s.
func (c *logCapture) about(s string) []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []slog.Record
	for _, r := range c.recs {
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
		deadline := time.Now().Add(20 * time.Second)
		for len(logs.about(p)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		recs := logs.about(p)
		if len(recs) != 1 {
			t.Fatalf("%s: %d log records, want 1", p, len(recs))
		}
		if recs[0].Level >= slog.LevelWarn {
			t.Errorf("%s: logged at %v: %s", p, recs[0].Level, recs[0].Message)
		}
	}
	// The session is intact: the part can be sent again.
	data := randomBytes(t, 5242880)
	if code, _, body := do(t, "PUT", st.Parts[0], bytes.NewReader(data), "application/octet-stream"); code != 200 {
		t.Fatalf("part again: %d %q", code, body)
	}
}
