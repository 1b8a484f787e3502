package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// limitServer starts a node on local disk with the limits mutate sets, and
// returns it with its data dir.
func limitServer(t *testing.T, mutate func(*server.Config)) (*testServer, string) {
	t.Helper()
	var dir string
	s := startServer(t, func(c *server.Config) {
		c.StorageURL = ""
		dir = c.DataDir
		mutate(c)
	})
	return s, dir
}

// tmpBlobs lists the blobs being written: temporary files under
// files/tmp/, or, where new blobs are unnamed files in their shard until
// committed, this process's descriptors open on such files.
func tmpBlobs(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	tmp := filepath.Join(dataDir, "files", "tmp")
	err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == tmp && errors.Is(err, fs.ErrNotExist) {
				return nil // never made: with an S3 bucket, or unnamed temporaries on disk
			}
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk tmp: %v", err)
	}
	blobs := filepath.Join(dataDir, "files", "blobs") + "/"
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, blobs) && strings.HasSuffix(target, " (deleted)") {
			out = append(out, target)
		}
	}
	return out
}

// waitTmpBlobs waits until n temporary blobs exist.
func waitTmpBlobs(t *testing.T, dataDir string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(tmpBlobs(t, dataDir)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d temporary blobs, want %d", len(tmpBlobs(t, dataDir)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawUpload is a request written by hand on its own connection, so the test
// decides when (and how slowly) each byte of the body goes out.
type rawUpload struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	rest []byte // body bytes not sent yet
}

// startRawUpload sends the headers of a /base/ upload and its body up to
// (and including) the first `sent` bytes of a file of `size` bytes. Fields
// come before the file, in order.
func startRawUpload(t *testing.T, base, query string, fields [][2]string, size, sent int) *rawUpload {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, err := mw.CreateFormFile("file", "slow.bin")
	if err != nil {
		t.Fatal(err)
	}
	head := buf.Len()
	fw.Write(bytes.Repeat([]byte("s"), size))
	mw.Close()
	return startRaw(t, base, "POST", "/base/"+query, mw.FormDataContentType(), buf.Bytes(), head+sent)
}

// startRaw sends a request's headers and the first `sent` bytes of body.
func startRaw(t *testing.T, base, method, target, ctype string, body []byte, sent int) *rawUpload {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", method, target, u.Host, ctype, len(body))
	if _, err := conn.Write(body[:sent]); err != nil {
		t.Fatal(err)
	}
	return &rawUpload{t: t, conn: conn, br: bufio.NewReader(conn), rest: body[sent:]}
}

// response reads the answer (waiting at most d) and its body.
func (u *rawUpload) response(d time.Duration) (*http.Response, string, error) {
	u.conn.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(u.br, nil)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

// finish sends the rest of the body and reads the answer.
func (u *rawUpload) finish() (*http.Response, string) {
	u.t.Helper()
	if _, err := u.conn.Write(u.rest); err != nil {
		u.t.Fatalf("send the rest: %v", err)
	}
	resp, body, err := u.response(30 * time.Second)
	if err != nil {
		u.t.Fatalf("read the answer: %v", err)
	}
	return resp, body
}

// expectRefused reads an answer that must come before the body is sent.
// With retry, it must be a throttling answer: Retry-After and a sentence.
func (u *rawUpload) expectRefused(status int, retry bool) {
	u.t.Helper()
	resp, body, err := u.response(10 * time.Second)
	if err != nil {
		u.t.Fatalf("no answer before the body was sent: %v", err)
	}
	if resp.StatusCode != status {
		u.t.Fatalf("answer %d %q, want %d", resp.StatusCode, body, status)
	}
	if !retry {
		return
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		u.t.Errorf("%d without Retry-After", status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || body == "" {
		u.t.Errorf("answer %q (%s), want a text/plain sentence", body, ct)
	}
}

// A client trickling its body slower than the minimum rate is cut within a
// window, and the temporary blob its file had started is removed.
func TestTricklingBodyIsCut(t *testing.T) {
	const window = 2 * time.Second
	s, dir := limitServer(t, func(c *server.Config) {
		c.BodyMinRate = 1000
		c.BodyIdleTimeout = window
	})
	// At full speed an upload passes.
	ok := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, 300<<10, 0)
	if resp, body := ok.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("fast upload: %d %q", resp.StatusCode, body)
	}

	u := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, 100<<10, 100)
	waitTmpBlobs(t, dir, 1)
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// 10 bytes/s, far below 1000.
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := u.conn.Write(u.rest[i : i+1]); err != nil {
				return
			}
		}
	}()
	resp, body, err := u.response(6 * window)
	elapsed := time.Since(start)
	switch {
	case err == nil && resp.StatusCode == http.StatusRequestTimeout:
		t.Logf("cut after %v: %d %q", elapsed, resp.StatusCode, body)
	case err != nil && !isTimeout(err):
		// The connection was closed; the answer may be lost with it.
		t.Logf("cut after %v: %v", elapsed, err)
	case err != nil:
		t.Fatalf("the trickling upload still runs after %v", elapsed)
	default:
		t.Fatalf("trickling upload answered %d %q, want 408", resp.StatusCode, body)
	}
	if elapsed > 4*window {
		t.Errorf("cut after %v, window %v", elapsed, window)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(tmpBlobs(t, dir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("temporary blob left after the cut: %v", tmpBlobs(t, dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Beyond the per-project cap an upload gets 429 (before any blob is
// created) while another project still uploads; /base/ and part PUTs count.
func TestProjectUploadCap(t *testing.T) {
	s, dir := limitServer(t, func(c *server.Config) { c.MaxProjectUploads = 2 })
	other := &satchel.Project{Name: "other", PublicKey: "otherpublickey", SecretKey: "othersecretkey"}
	if err := s.Store.CreateProject(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	// A multipart session of the demo project, for a part PUT below.
	resp, err := http.PostForm(s.URL+"/multipart/start/", url.Values{
		"UPLOADCARE_PUB_KEY": {testPub}, "filename": {"big.bin"}, "size": {"10485760"}, "content_type": {"application/octet-stream"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ Parts []string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if len(started.Parts) == 0 {
		t.Fatalf("multipart start: %d", resp.StatusCode)
	}

	key := [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}
	held := []*rawUpload{startRawUpload(t, s.URL, "", key, 1<<20, 10), startRawUpload(t, s.URL, "", key, 1<<20, 10)}
	waitTmpBlobs(t, dir, 2)

	startRawUpload(t, s.URL, "", key, 1<<20, 10).expectRefused(http.StatusTooManyRequests, true)
	if n := len(tmpBlobs(t, dir)); n != 2 {
		t.Errorf("%d temporary blobs after a refused upload, want 2", n)
	}
	// The JSON error format says the same.
	j := startRawUpload(t, s.URL, "?jsonerrors=1", key, 1<<20, 10)
	jr, jbody, err := j.response(10 * time.Second)
	if err != nil {
		t.Fatalf("jsonerrors: %v", err)
	}
	var je struct {
		Error struct {
			StatusCode int    `json:"status_code"`
			ErrorCode  string `json:"error_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(jbody), &je); err != nil || jr.StatusCode != http.StatusOK || je.Error.StatusCode != 429 || je.Error.ErrorCode != "RequestThrottledError" || jr.Header.Get("Retry-After") == "" {
		t.Errorf("jsonerrors answer %d %q (Retry-After %q)", jr.StatusCode, jbody, jr.Header.Get("Retry-After"))
	}
	// A part of the same project is refused too.
	pu, _ := url.Parse(started.Parts[0])
	startRaw(t, s.URL, "PUT", pu.RequestURI(), "application/octet-stream", make([]byte, 5242880), 0).expectRefused(http.StatusTooManyRequests, true)

	// Another project uploads meanwhile.
	o := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", other.PublicKey}}, 1000, 0)
	if resp, body := o.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("other project's upload: %d %q", resp.StatusCode, body)
	}
	for i, u := range held {
		if resp, body := u.finish(); resp.StatusCode != http.StatusOK {
			t.Fatalf("held upload %d: %d %q", i, resp.StatusCode, body)
		}
	}
	// The slots are free again.
	again := startRawUpload(t, s.URL, "", key, 1000, 0)
	if resp, body := again.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("upload after the others finished: %d %q", resp.StatusCode, body)
	}
}

// Beyond the server-wide cap every upload gets 503, whatever its project.
func TestServerUploadCap(t *testing.T) {
	s, dir := limitServer(t, func(c *server.Config) { c.MaxConcurrentUploads = 2 })
	other := &satchel.Project{Name: "other", PublicKey: "otherpublickey", SecretKey: "othersecretkey"}
	if err := s.Store.CreateProject(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	key := [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}
	held := []*rawUpload{startRawUpload(t, s.URL, "", key, 1<<20, 10), startRawUpload(t, s.URL, "", key, 1<<20, 10)}
	waitTmpBlobs(t, dir, 2)

	startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", other.PublicKey}}, 1<<20, 10).expectRefused(http.StatusServiceUnavailable, true)
	startRaw(t, s.URL, "PUT", "/multipart/part/00000000-0000-4000-8000-000000000000/?partNumber=1", "application/octet-stream", make([]byte, 5242880), 0).expectRefused(http.StatusServiceUnavailable, true)
	if n := len(tmpBlobs(t, dir)); n != 2 {
		t.Errorf("%d temporary blobs after refused uploads, want 2", n)
	}
	for i, u := range held {
		if resp, body := u.finish(); resp.StatusCode != http.StatusOK {
			t.Fatalf("held upload %d: %d %q", i, resp.StatusCode, body)
		}
	}
	o := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", other.PublicKey}}, 1000, 0)
	if resp, body := o.finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("upload after the others finished: %d %q", resp.StatusCode, body)
	}
}

// With the public key before the file, an unknown key is refused before
// the file is received: no temporary blob is created.
func TestUnknownKeyFirstCreatesNoBlob(t *testing.T) {
	s, dir := limitServer(t, func(c *server.Config) {})
	u := startRawUpload(t, s.URL, "", [][2]string{{"UPLOADCARE_PUB_KEY", "nosuchpublickey"}}, 1<<20, 1000)
	u.expectRefused(http.StatusForbidden, false)
	if blobs := tmpBlobs(t, dir); len(blobs) != 0 {
		t.Errorf("temporary blobs for a refused upload: %v", blobs)
	}
}
