package server_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// startRawJSONAPIUpload sends the headers of an anonymous JSON:API direct
// upload to project pub and the first `sent` bytes of its file of `size`
// bytes.
func startRawJSONAPIUpload(t *testing.T, s *testServer, pub string, size, sent int) *rawUpload {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file[content]", "slow.bin")
	if err != nil {
		t.Fatal(err)
	}
	head := buf.Len()
	fw.Write(bytes.Repeat([]byte("s"), size))
	mw.Close()
	return startRaw(t, s.URL, "POST", "/api/v1/projects/"+pub+"/files.json", mw.FormDataContentType(), buf.Bytes(), head+sent)
}

// wantBusy checks a JSON:API refusal for capacity: status, code and
// Retry-After.
func wantBusy(t *testing.T, r jaResp, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.firstError(t)["code"]; got != code {
		t.Errorf("code %v, want %s: %s", got, code, r.raw)
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%d without Retry-After", status)
	}
}

// The per-project cap of uploads in progress counts JSON:API uploads and
// Upload API uploads alike: each is refused while the other holds the
// project's slot, with its own error format, and another project uploads
// meanwhile.
func TestJSONAPIProjectUploadCap(t *testing.T) {
	s, dir := limitServer(t, func(c *server.Config) { c.MaxProjectUploads = 1 })
	newProject(t, s, "anonymouspublickey01", "anonymoussecret01", func(p *satchel.Project) { p.AnonymousUploads = true })
	other := newProject(t, s, "otherpublickey000001", "othersecret00001", nil)
	const pub, secret = "anonymouspublickey01", "anonymoussecret01"

	// A JSON:API upload holds the project's slot: the Upload API is refused.
	held := startRawJSONAPIUpload(t, s, pub, 1<<20, 10)
	waitTmpBlobs(t, dir, 1)
	if n := s.App.UploadsInProgress(); n != 1 {
		t.Errorf("uploads in progress %d, want 1", n)
	}
	startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", pub}}, 1<<20, 10).expectRefused(http.StatusTooManyRequests, true)
	// And so is another JSON:API upload, in the dialect's error format.
	wantBusy(t, jaMultipart(t, "POST", jaBase(s, pub)+"/files.json", secret, []byte("second"), "b.txt"), http.StatusTooManyRequests, "throttled")
	if n := len(tmpBlobs(t, dir)); n != 1 {
		t.Errorf("%d temporary blobs after refused uploads, want 1", n)
	}
	// Another project is not held up.
	wantStatus(t, jaMultipart(t, "POST", jaBase(s, other.PublicKey)+"/files.json", other.SecretKey, []byte("other"), "o.txt"), http.StatusCreated)
	if resp, body := held.finish(); resp.StatusCode != http.StatusCreated {
		t.Fatalf("held upload: %d %q", resp.StatusCode, body)
	}

	// An Upload API upload holds it: the JSON:API is refused.
	u := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", pub}}, 1<<20, 10)
	waitTmpBlobs(t, dir, 1)
	wantBusy(t, jaMultipart(t, "POST", jaBase(s, pub)+"/files.json", "", []byte("anon"), "a.txt"), http.StatusTooManyRequests, "throttled")
	if resp, body := u.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("held upload: %d %q", resp.StatusCode, body)
	}
	wantStatus(t, jaMultipart(t, "POST", jaBase(s, pub)+"/files.json", secret, []byte("free"), "f.txt"), http.StatusCreated)
}

// The node-wide cap refuses JSON:API uploads (503) while Upload API uploads
// hold every slot, and JSON:API chunk PUTs count too.
func TestJSONAPIServerUploadCap(t *testing.T) {
	s, dir := limitServer(t, func(c *server.Config) { c.MaxConcurrentUploads = 1 })
	base := jaBase(s, testPub)
	start := jaJSON(t, "POST", base+"/files.json", testSecret,
		`{"file":{"is_chunked_upload":true,"size":6000000,"chunk_size":5242880,"filename":"big.bin","content_type":"application/octet-stream"}}`)
	wantStatus(t, start, http.StatusCreated)
	urls, _ := start.body["data"].(map[string]any)["chunked_upload_urls"].([]any)
	if len(urls) != 2 {
		t.Fatalf("chunk URLs %v", urls)
	}

	held := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, 1<<20, 10)
	waitTmpBlobs(t, dir, 1)
	wantBusy(t, jaMultipart(t, "POST", base+"/files.json", testSecret, []byte("busy"), "b.txt"), http.StatusServiceUnavailable, "unavailable")
	if resp, body := held.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("held upload: %d %q", resp.StatusCode, body)
	}

	// A chunk being written holds the slot: a JSON:API upload waits.
	chunk := startRaw(t, s.URL, "PUT", mustRequestURI(t, urls[1].(string)), "application/octet-stream", bytes.Repeat([]byte("c"), 6000000-5242880), 10)
	deadline := time.Now().Add(10 * time.Second)
	for s.App.UploadsInProgress() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the chunk being written is not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	wantBusy(t, jaMultipart(t, "POST", base+"/files.json", testSecret, []byte("busy"), "b.txt"), http.StatusServiceUnavailable, "unavailable")
	if resp, body := chunk.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("chunk: %d %q", resp.StatusCode, body)
	}
	wantStatus(t, jaMultipart(t, "POST", base+"/files.json", testSecret, []byte("free"), "f.txt"), http.StatusCreated)
}

// mustRequestURI is the path and query of an absolute URL.
func mustRequestURI(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}
