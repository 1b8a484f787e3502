package uploaderpage_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/satchel-project/satchel/server"
)

func start(t *testing.T, off bool) string {
	t.Helper()
	s, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), DemoPublicKey: "pagepub", DemoSecretKey: "pagesecret", NoUploaderPage: off})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts.URL
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestUploaderPage(t *testing.T) {
	base := start(t, false)
	resp, body := get(t, base+"/?pub_key=pagepub")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no strict CSP: %q", resp.Header.Get("Content-Security-Policy"))
	}
	for _, want := range []string{`<satchel-uploader id="uploader" pub-key="pagepub"`, `src="/uploader/uploader.js"`, base + "/uploader/uploader.js"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The key is echoed escaped.
	_, body = get(t, base+`/?pub_key=%22%3E%3Cscript%3Ealert(1)%3C/script%3E`)
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("pub_key is not escaped")
	}
	for name, ctype := range map[string]string{"uploader.js": "text/javascript", "uploader.css": "text/css", "page.css": "text/css"} {
		resp, body := get(t, base+"/uploader/"+name)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("%s: %d %q %d bytes", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: headers %v", name, resp.Header)
		}
	}
	if resp, _ := get(t, base+"/uploader/index.html"); resp.StatusCode != 404 {
		t.Errorf("template served as an asset: %d", resp.StatusCode)
	}
	// HEAD works too, and the CDN still owns everything else.
	hr, err := http.Head(base + "/uploader/uploader.js")
	if err != nil || hr.StatusCode != 200 {
		t.Errorf("HEAD: %v %v", hr, err)
	}
	if resp, _ := get(t, base+"/00000000-0000-4000-8000-000000000000/"); resp.StatusCode != 404 {
		t.Errorf("CDN path: %d", resp.StatusCode)
	}
}

func TestUploaderPageOff(t *testing.T) {
	base := start(t, true)
	for _, p := range []string{"/", "/uploader/uploader.js"} {
		if resp, _ := get(t, base+p); resp.StatusCode != 404 {
			t.Errorf("%s with the page off: %d", p, resp.StatusCode)
		}
	}
}
