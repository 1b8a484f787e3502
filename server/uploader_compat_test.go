package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
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
