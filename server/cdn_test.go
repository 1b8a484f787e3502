package server_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/ucare/akamai"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func imageSize(t *testing.T, b []byte) (int, int, string) {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v (%q)", err, b[:min(len(b), 80)])
	}
	return cfg.Width, cfg.Height, format
}

func TestCDNOriginals(t *testing.T) {
	s := startServer(t, nil)
	img := uploadN(t, s.URL, 1, "1")[0]
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "notes.txt", []byte("hello, range world")}})
	if code != 200 {
		t.Fatal(body)
	}
	txt := strings.Split(body, `"`)[3]

	resp, b := get(t, s.URL+"/"+txt+"/", map[string]string{"Range": "bytes=7-11"})
	if resp.StatusCode != 206 || string(b) != "range" || resp.Header.Get("Content-Range") != "bytes 7-11/18" {
		t.Fatalf("range: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Fatalf("text disposition: %q", cd)
	}
	etag := resp.Header.Get("ETag")
	resp, _ = get(t, s.URL+"/"+txt+"/", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 304 {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	resp, _ = get(t, s.URL+"/"+txt+"/-/inline/yes/", nil)
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
		t.Fatalf("inline override: %q", cd)
	}
	resp, _ = get(t, s.URL+"/"+img+"/custom name.png", nil)
	if cd := resp.Header.Get("Content-Disposition"); cd != `inline; filename="customname.png"` || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Last-Modified") == "" {
		t.Fatalf("image headers: %v", resp.Header)
	}
	resp, b = get(t, s.URL+"/"+txt+"/-/resize/10x/", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "are not images") {
		t.Fatalf("ops on text: %d %s", resp.StatusCode, b)
	}
	resp, b = get(t, s.URL+"/"+img+"/-/resize/banana/", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "resize") {
		t.Fatalf("bad op: %d %s", resp.StatusCode, b)
	}
	resp, _ = get(t, s.URL+"/00000000-0000-4000-8000-000000000000/", nil)
	if resp.StatusCode != 404 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("unknown: %d", resp.StatusCode)
	}
	// An SVG is served with a sandboxing CSP.
	code, _, body = postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script></svg>`)}})
	if code != 200 {
		t.Fatal(body)
	}
	resp, _ = get(t, s.URL+"/"+strings.Split(body, `"`)[3]+"/", nil)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("svg csp: %v", resp.Header)
	}
}

func TestCDNImageOperations(t *testing.T) {
	s := startServer(t, nil)
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "photo.png", pngBytes(t, 400, 300)}})
	if code != 200 {
		t.Fatal(body)
	}
	id := strings.Split(body, `"`)[3]
	for _, c := range []struct {
		ops    string
		w, h   int
		format string
	}{
		{"resize/200x/", 200, 150, "png"},
		{"resize/100x100/", 100, 100, "png"},
		{"preview/100x100/", 100, 75, "png"},
		{"crop/100x50/10,10/", 100, 50, "png"},
		{"crop/50px50p/center/", 200, 150, "png"},
		{"scale_crop/80x80/center/", 80, 80, "png"},
		{"rotate/90/", 300, 400, "png"},
		{"resize/40x/-/format/jpeg/-/quality/lightest/", 40, 30, "jpeg"},
		{"stretch/off/-/resize/800x/", 400, 300, "png"},
	} {
		resp, b := get(t, s.URL+"/"+id+"/-/"+c.ops, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", c.ops, resp.StatusCode, b)
			continue
		}
		w, h, f := imageSize(t, b)
		if w != c.w || h != c.h || f != c.format {
			t.Errorf("%s: %dx%d %s, want %dx%d %s", c.ops, w, h, f, c.w, c.h, c.format)
		}
	}
	// format/auto negotiates and varies on Accept.
	resp, b := get(t, s.URL+"/"+id+"/-/resize/50x/-/format/auto/", map[string]string{"Accept": "image/webp,*/*"})
	if resp.Header.Get("Content-Type") != "image/webp" || resp.Header.Get("Vary") != "Accept" || !bytes.HasPrefix(b[8:], []byte("WEBP")) {
		t.Fatalf("auto webp: %v", resp.Header)
	}
	resp, _ = get(t, s.URL+"/"+id+"/-/resize/50x/-/format/auto/", map[string]string{"Accept": "image/png"})
	if ct := resp.Header.Get("Content-Type"); ct != "image/png" && ct != "image/jpeg" {
		t.Fatalf("auto fallback: %q", ct)
	}
	// JSON info.
	resp, b = get(t, s.URL+"/"+id+"/-/json/", nil)
	if resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(b), `"width":400`) || !strings.Contains(string(b), `"id":"`+id+`"`) {
		t.Fatalf("json: %s %s", resp.Header.Get("Content-Type"), b)
	}
	// The same variant again comes from the cache with the same ETag; a
	// conditional request gets 304.
	r1, _ := get(t, s.URL+"/"+id+"/-/resize/200x/", nil)
	r2, _ := get(t, s.URL+"/"+id+"/-/resize/200x/", map[string]string{"If-None-Match": r1.Header.Get("ETag")})
	if r2.StatusCode != 304 {
		t.Fatalf("variant 304: %d", r2.StatusCode)
	}
	// Deleting the file removes its variants from delivery.
	if code, _, _ := rawREST(t, "DELETE", s.URL+"/files/"+id+"/storage/", v7, "", ""); code != 200 {
		t.Fatal("delete failed")
	}
	if resp, _ := get(t, s.URL+"/"+id+"/-/resize/200x/", nil); resp.StatusCode != 404 {
		t.Fatalf("variant of deleted file: %d", resp.StatusCode)
	}
}

func TestCDNGroups(t *testing.T) {
	s := startServer(t, nil)
	ids := uploadN(t, s.URL, 2, "1")
	code, body := postURLEncoded(t, s.URL+"/group/", map[string][]string{"pub_key": {testPub}, "files[0]": {ids[0] + "/-/resize/4x/"}, "files[1]": {ids[1]}})
	if code != 200 {
		t.Fatal(body)
	}
	gid := strings.Split(strings.Split(body, `"id":"`)[1], `"`)[0]
	resp, b := get(t, s.URL+"/"+gid+"/nth/0/", nil)
	if w, _, _ := imageSize(t, b); resp.StatusCode != 200 || w != 4 {
		t.Fatalf("nth with default effects: %d w=%d", resp.StatusCode, w)
	}
	resp, b = get(t, s.URL+"/"+gid+"/nth/0/-/resize/2x/", nil)
	if w, _, _ := imageSize(t, b); resp.StatusCode != 200 || w != 2 {
		t.Fatalf("nth with more ops: %d w=%d", resp.StatusCode, w)
	}
	if resp, _ := get(t, s.URL+"/"+gid+"/nth/5/", nil); resp.StatusCode != 400 && resp.StatusCode != 404 {
		t.Fatalf("nth out of range: %d", resp.StatusCode)
	}
	resp, b = get(t, s.URL+"/"+gid+"/archive/zip/photos.zip", nil)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(zr.File) != 2 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %v %v", err, resp.Header)
	}
	rc, _ := zr.File[1].Open()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, download(t, s.URL, ids[1])) {
		t.Fatal("zip member bytes differ")
	}
	_, b = get(t, s.URL+"/"+gid+"/archive/tar/", nil)
	tr := tar.NewReader(bytes.NewReader(b))
	n := 0
	for {
		if _, err := tr.Next(); err != nil {
			break
		}
		n++
	}
	if n != 2 {
		t.Fatalf("tar members: %d", n)
	}
	resp, b = get(t, s.URL+"/"+gid+"/", nil)
	if !strings.Contains(string(b), "/nth/1/") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("group page: %s", b)
	}
}

func TestCDNSecureDelivery(t *testing.T) {
	s := startServer(t, nil)
	id := uploadN(t, s.URL, 1, "1")[0]
	const secret = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	p, _ := s.Store.ProjectByPublicKey(context.Background(), testPub)
	p.SecureDeliverySecret = secret
	if err := s.Store.UpdateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // CDN metadata cache
	if resp, _ := get(t, s.URL+"/"+id+"/", nil); resp.StatusCode != 403 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	exp := time.Now().Add(5 * time.Minute).Unix()
	acl, _ := akamai.ACLToken(secret, "/"+id+"/", exp, true)
	if resp, _ := get(t, s.URL+"/"+id+"/-/resize/10x/?token="+acl, nil); resp.StatusCode != 200 {
		t.Fatalf("wildcard ACL token: %d", resp.StatusCode)
	}
	urlTok, _ := akamai.URLToken(secret, "/"+id+"/", exp)
	if resp, _ := get(t, s.URL+"/"+id+"/?token="+urlTok, nil); resp.StatusCode != 200 {
		t.Fatalf("URL token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.URL+"/"+id+"/-/resize/10x/?token="+urlTok, nil); resp.StatusCode != 403 {
		t.Fatalf("URL token on another path: %d", resp.StatusCode)
	}
	old, _ := akamai.ACLToken(secret, "/"+id+"/", time.Now().Add(-time.Minute).Unix(), true)
	if resp, _ := get(t, s.URL+"/"+id+"/?token="+old, nil); resp.StatusCode != 403 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.URL+"/"+id+"/?token="+strings.Replace(acl, "hmac=", "hmac=0", 1), nil); resp.StatusCode != 403 {
		t.Fatalf("tampered token: %d", resp.StatusCode)
	}
}
