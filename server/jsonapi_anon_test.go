package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// waitFileStatus polls a JSON:API file with its token until its status is
// no longer pending, and returns the last answer.
func waitFileStatus(t *testing.T, base, id, token string) jaResp {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g := jaDo(t, "GET", base+"/files/"+id+".json", token, "", nil)
		wantStatus(t, g, http.StatusOK)
		if g.attr(t, "status") != "pending" {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending: %s", g.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantError checks a JSON:API error answer's status and code.
func wantError(t *testing.T, r jaResp, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.firstError(t)["code"]; got != code {
		t.Fatalf("code %v, want %s: %s", got, code, r.raw)
	}
}

// Anonymous creates are held to the project's anonymous size and types on
// direct, URL and chunked uploads; the secret is not.
func TestJSONAPIAnonymousLimits(t *testing.T) {
	png := pngBytes(t, 8, 8)
	big := append(pngBytes(t, 8, 8), bytes.Repeat([]byte{0}, 3000)...)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "/big.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(big)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("plain text"))
		}
	}))
	defer src.Close()
	s := startServer(t, nil)
	const pub, secret = "anonlimitspublickey1", "anonlimitssecret1"
	newProject(t, s, pub, secret, func(p *satchel.Project) {
		p.AnonymousUploads, p.AnonymousRateLimit = true, -1
		p.AnonymousMaxFileSize, p.AnonymousTypes = 2000, []string{"image/*"}
	})
	base := jaBase(s, pub)

	// Direct.
	wantStatus(t, jaMultipart(t, "POST", base+"/files.json", "", png, "a.png"), http.StatusCreated)
	r := jaMultipart(t, "POST", base+"/files.json", "", big, "big.png")
	wantError(t, r, http.StatusRequestEntityTooLarge, "file_too_large")
	if meta, _ := r.firstError(t)["meta"].(map[string]any); meta["limit"] != float64(2000) {
		t.Errorf("meta.limit: %s", r.raw)
	}
	wantError(t, jaMultipart(t, "POST", base+"/files.json", "", []byte("plain text"), "a.txt"), http.StatusUnprocessableEntity, "file_type_forbidden")
	// The secret is held to the project's limits only.
	wantStatus(t, jaMultipart(t, "POST", base+"/files.json", secret, big, "big.png"), http.StatusCreated)
	wantStatus(t, jaMultipart(t, "POST", base+"/files.json", secret, []byte("plain text"), "a.txt"), http.StatusCreated)

	// Chunked: the declared size and type at start, the bytes at finalize.
	chunked := func(auth string, size int, ctype string) jaResp {
		return jaJSON(t, "POST", base+"/files.json", auth, fmt.Sprintf(
			`{"file":{"is_chunked_upload":true,"size":%d,"chunk_size":%d,"filename":"c.bin","content_type":%q}}`, size, size, ctype))
	}
	wantError(t, chunked("", 3000, "image/png"), http.StatusRequestEntityTooLarge, "file_too_large")
	wantError(t, chunked("", 100, "text/plain"), http.StatusUnprocessableEntity, "file_type_forbidden")
	wantStatus(t, chunked(secret, 3000, "text/plain"), http.StatusCreated)
	// Declared an image, sent text: refused at finalize and removed.
	text := []byte("plain text, not an image")
	r = chunked("", len(text), "image/png")
	wantStatus(t, r, http.StatusCreated)
	id, token := r.data(t)["id"].(string), r.token(t)
	urls := r.data(t)["chunked_upload_urls"].([]any)
	req, _ := http.NewRequest("PUT", urls[0].(string), bytes.NewReader(text))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("chunk: %v %v", resp, err)
	}
	resp.Body.Close()
	wantError(t, jaJSON(t, "PUT", base+"/files/"+id+".json", token, `{"file":{"is_chunked_upload_complete":true}}`), http.StatusUnprocessableEntity, "file_type_forbidden")
	if g := jaDo(t, "GET", base+"/files/"+id+".json", token, "", nil); g.attr(t, "status") != "removed" {
		t.Errorf("refused chunked upload: %s", g.raw)
	}

	// From URL: the fetched file is held to the same limits.
	for path, want := range map[string]string{"/a.png": "ready", "/big.png": "failed", "/a.txt": "failed"} {
		r := jaJSON(t, "POST", base+"/files.json", "", `{"file":{"source_url":"`+src.URL+path+`"}}`)
		wantStatus(t, r, http.StatusCreated)
		if g := waitFileStatus(t, base, r.data(t)["id"].(string), r.token(t)); g.attr(t, "status") != want {
			t.Errorf("%s: %s, want %s", path, g.raw, want)
		}
	}
	r = jaJSON(t, "POST", base+"/files.json", secret, `{"file":{"source_url":"`+src.URL+`/big.png"}}`)
	if g := waitFileStatus(t, base, r.data(t)["id"].(string), secret); g.attr(t, "status") != "ready" {
		t.Errorf("secret's fetch: %s", g.raw)
	}
}

// Anonymous creates of one client address are rate-limited per project:
// beyond the rate 429 with Retry-After, whatever X-Forwarded-For an
// untrusted client sends; the secret and other projects are not held up.
func TestJSONAPIAnonymousRate(t *testing.T) {
	s := startServer(t, nil)
	newProject(t, s, "anonratepublickey001", "anonratesecret01", func(p *satchel.Project) {
		p.AnonymousUploads, p.AnonymousRateLimit = true, 2
	})
	newProject(t, s, "anonratepublickey002", "anonratesecret02", func(p *satchel.Project) { p.AnonymousUploads = true })
	base := jaBase(s, "anonratepublickey001")
	wantStatus(t, jaMultipart(t, "POST", base+"/files.json", "", []byte("one"), "1.txt"), http.StatusCreated)
	wantStatus(t, jaJSON(t, "POST", base+"/groups.json", "", `{"file_ids":[]}`), http.StatusUnprocessableEntity)
	r := jaMultipart(t, "POST", base+"/files.json", "", []byte("three"), "3.txt")
	wantBusy(t, r, http.StatusTooManyRequests, "throttled")
	// A forged X-Forwarded-For does not make a new client.
	req, _ := http.NewRequest("POST", base+"/files.json", bytes.NewReader([]byte(`{"file":{"source_url":"http://example.invalid/a.png"}}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("with X-Forwarded-For: %d, want 429", resp.StatusCode)
	}
	wantStatus(t, jaMultipart(t, "POST", base+"/files.json", "anonratesecret01", []byte("secret"), "s.txt"), http.StatusCreated)
	wantStatus(t, jaMultipart(t, "POST", jaBase(s, "anonratepublickey002")+"/files.json", "", []byte("other"), "o.txt"), http.StatusCreated)
}
