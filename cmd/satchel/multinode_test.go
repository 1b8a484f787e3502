package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/internal/testenv"
)

// TestMultiNode runs the scale-out shape for real: two `satchel serve`
// processes sharing one PostgreSQL schema and one S3 prefix, each with its
// own data directory, and checks that a client may talk to either node at
// any step:
//
//   - a multipart upload started on one node takes parts on both and is
//     completed on the other; the file is served by the first;
//   - a from-URL upload started on one node is polled and served on the other,
//     and the source is downloaded once;
//   - webhook deliveries are sent once each although both nodes run delivery
//     workers against the same queue;
//   - a node killed with SIGKILL mid-upload loses nothing acknowledged: the
//     client re-sends the parts it has no answer for to the surviving node and
//     completes there; the from-URL download the dead node was running is
//     taken over by the survivor once River sees its heartbeat stop (20-60 s,
//     most of this test's run time).
//
// It needs SATCHEL_TEST_DATABASE_URL and SATCHEL_TEST_S3_URL:
//
//	eval "$(bash scripts/pgserver.sh)"; eval "$(bash scripts/s3server.sh)"
//	go test -run TestMultiNode -v ./cmd/satchel/
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two satchel processes; skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL semantics")
	}
	if !testenv.HasPostgres() || !testenv.HasS3() {
		t.Skipf("needs %s and %s (scripts/pgserver.sh, scripts/s3server.sh)", testenv.PostgresURL, testenv.S3URL)
	}
	began := time.Now()
	dsn := testenv.PostgresDSN(t)
	storage := testenv.S3BucketURL(t)
	mnEmptyPrefixAtEnd(t, storage)
	bin := mnBuild(t)

	// The first node creates the schema and the demo project; the second
	// finds both. Each has its own data dir (local tmp only).
	tmp := t.TempDir()
	a := mnStart(t, "A", bin, filepath.Join(tmp, "a"), dsn, storage)
	b := mnStart(t, "B", bin, filepath.Join(tmp, "b"), dsn, storage)
	t.Logf("nodes up after %v: A %s, B %s", time.Since(began).Round(time.Millisecond), a.base, b.base)

	t.Run("MultipartAcrossNodes", func(t *testing.T) { mnMultipartAcross(t, a, b) })
	t.Run("FromURLAcrossNodes", func(t *testing.T) { mnFromURLAcross(t, a, b) })
	t.Run("WebhooksDeliveredOnce", func(t *testing.T) { mnWebhooksOnce(t, a, b) })
	// Last: it kills node A.
	t.Run("NodeKilledMidUploads", func(t *testing.T) { mnKilledMidUploads(t, a, b) })
	t.Logf("TestMultiNode took %v", time.Since(began).Round(time.Millisecond))
}

const (
	mnPub      = "multinodetestpublickey"
	mnSecret   = "multinodetestsecretkey"
	mnPartSize = 5242880 // the default part size: /multipart/start/ gets none
	mnMPSize   = 24_000_000
)

// mnPrefix starts every uploaded file, so that random bytes never sniff as an
// image or video the inspector would try to decode.
var mnPrefix = []byte("satchel multinode test\x00")

// mnNode is one running `satchel serve`.
type mnNode struct {
	name   string
	cmd    *exec.Cmd
	out    *lockedBuffer
	addr   string
	base   string
	client *http.Client
	done   chan struct{}
	err    error // valid once done is closed
}

// mnEmptyPrefixAtEnd removes, when the test ends (after the nodes are
// killed: cleanups run last first), every object and unfinished upload the
// test left under its S3 prefix.
func mnEmptyPrefixAtEnd(t *testing.T, storage string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := blobstore.OpenS3(ctx, storage)
		if err != nil {
			t.Logf("empty the test prefix: %v", err)
			return
		}
		defer b.Close()
		var keys, uploads []string
		b.List(ctx, time.Time{}, func(k string) error { keys = append(keys, k); return nil })
		b.ListMultipart(ctx, func(id string) error { uploads = append(uploads, id); return nil })
		for _, k := range keys {
			b.Delete(ctx, k)
		}
		for _, id := range uploads {
			b.AbortMultipart(ctx, id)
		}
	})
}

// mnBuild builds the satchel binary once, from this package's directory.
func mnBuild(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not available: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "satchel")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// mnStart runs a node on a free loopback port and waits for /healthz. It is
// killed when the test ends; its output is logged if the test failed.
func mnStart(t *testing.T, name, bin, dataDir, dsn, storage string) *mnNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve",
		"--addr", addr, "--data-dir", dataDir,
		"--database-url", dsn, "--storage-url", storage,
		"--fetch-allow-private", "--rate-limit", "0",
		"--log-level", "debug") // debug: the webhook worker logs each delivery it made
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SATCHEL_") { // the flags above say it all
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "SATCHEL_DEMO_PUBLIC_KEY="+mnPub, "SATCHEL_DEMO_SECRET_KEY="+mnSecret)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	n := &mnNode{
		name: name, cmd: cmd, out: out, addr: addr, base: "http://" + addr, done: make(chan struct{}),
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
			Timeout:   60 * time.Second,
		},
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	go func() {
		n.err = cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("output of node %s (pid %d):\n%s", name, cmd.Process.Pid, out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-n.done:
			t.Fatalf("node %s exited while starting: %v\n%s", name, n.err, out.String())
		default:
		}
		if resp, err := n.client.Get(n.base + "/healthz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not answer /healthz on %s within 30s\n%s", name, addr, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// kill sends SIGKILL unless the process has exited, and waits for it.
func (n *mnNode) kill() {
	select {
	case <-n.done:
	default:
		n.cmd.Process.Kill()
		<-n.done
	}
	n.client.CloseIdleConnections()
}

func (n *mnNode) alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// mnData returns size deterministic pseudo-random bytes after mnPrefix.
func mnData(seed uint64, size int) []byte {
	b := make([]byte, size)
	k := copy(b, mnPrefix)
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	rand.NewChaCha8(s).Read(b[k:])
	return b
}

// mnDo sends req and reads the whole answer.
func mnDo(c *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func (n *mnNode) postForm(path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, n.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return mnDo(n.client, req)
}

// startMultipart opens a session on n for data and returns its uuid and part URLs.
func (n *mnNode) startMultipart(t *testing.T, filename string, size int) (string, []string) {
	t.Helper()
	status, body, err := n.postForm("/multipart/start/", url.Values{
		"UPLOADCARE_PUB_KEY": {mnPub}, "UPLOADCARE_STORE": {"1"},
		"filename": {filename}, "size": {fmt.Sprint(size)}, "content_type": {"application/octet-stream"},
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("node %s: /multipart/start/: %d %q (err %v)", n.name, status, body, err)
	}
	var out struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("node %s: /multipart/start/ answered %q: %v", n.name, body, err)
	}
	if want := (size + mnPartSize - 1) / mnPartSize; len(out.Parts) != want {
		t.Fatalf("node %s: /multipart/start/ gave %d part URLs, want %d", n.name, len(out.Parts), want)
	}
	for i, p := range out.Parts {
		u, err := url.Parse(p)
		if err != nil || u.Host != n.addr || u.Query().Get("partNumber") != fmt.Sprint(i+1) {
			t.Fatalf("node %s: part URL %d is %q: want host %s and partNumber=%d", n.name, i+1, p, n.addr, i+1)
		}
	}
	return out.UUID, out.Parts
}

// retarget points a part URL at node n.
func (n *mnNode) retarget(t *testing.T, partURL string) string {
	t.Helper()
	u, err := url.Parse(partURL)
	if err != nil {
		t.Fatalf("part URL %q: %v", partURL, err)
	}
	u.Host = n.addr
	return u.String()
}

// mnPart is the body of part i (0-based) of data.
func mnPart(data []byte, i int) []byte {
	off := i * mnPartSize
	return data[off:min(off+mnPartSize, len(data))]
}

// putPart PUTs body to partURL with n's client.
func (n *mnNode) putPart(partURL string, body io.Reader, length int) error {
	req, err := http.NewRequest(http.MethodPut, partURL, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(length)
	req.Header.Set("Content-Type", "application/octet-stream")
	status, resp, err := mnDo(n.client, req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d %q", status, resp)
	}
	return nil
}

func (n *mnNode) complete(id string) (int, []byte, error) {
	return n.postForm("/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {mnPub}, "uuid": {id}})
}

// completeOK completes session id on n and checks the answer.
func (n *mnNode) completeOK(t *testing.T, id string, size int) {
	t.Helper()
	status, body, err := n.complete(id)
	if err != nil || status != http.StatusOK {
		t.Fatalf("node %s: /multipart/complete/ %s: %d %q (err %v)", n.name, id, status, body, err)
	}
	var info struct {
		UUID    string `json:"uuid"`
		Size    int    `json:"size"`
		IsReady bool   `json:"is_ready"`
	}
	if err := json.Unmarshal(body, &info); err != nil || info.UUID != id || info.Size != size || !info.IsReady {
		t.Fatalf("node %s: /multipart/complete/ %s answered %s (err %v), want uuid %s, size %d, ready", n.name, id, body, err, id, size)
	}
}

// checkServed downloads /{id}/ from n and compares it with want.
func (n *mnNode) checkServed(t *testing.T, id string, want []byte) {
	t.Helper()
	resp, err := n.client.Get(n.base + "/" + id + "/")
	if err != nil {
		t.Fatalf("node %s: GET /%s/: %v", n.name, id, err)
	}
	h := sha256.New()
	size, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("node %s: GET /%s/: HTTP %d after %d bytes (err %v)", n.name, id, resp.StatusCode, size, err)
	}
	wantSum := sha256.Sum256(want)
	if got := h.Sum(nil); size != int64(len(want)) || !bytes.Equal(got, wantSum[:]) {
		t.Fatalf("node %s: GET /%s/ gave %d bytes sha256 %x, want %d bytes sha256 %x", n.name, id, size, got, len(want), wantSum)
	}
	// /info/ agrees too.
	status, body, err := mnDo(n.client, mnGet(t, n.base+"/info/?"+url.Values{"pub_key": {mnPub}, "file_id": {id}}.Encode()))
	var info struct {
		UUID string `json:"uuid"`
		Size int    `json:"size"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &info) != nil || info.UUID != id || info.Size != len(want) {
		t.Fatalf("node %s: /info/ of %s: %d %q (err %v), want size %d", n.name, id, status, body, err, len(want))
	}
}

func mnGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// uploadDirect sends data to n's /base/ and returns the new file's uuid.
func (n *mnNode) uploadDirect(data []byte, filename string) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("UPLOADCARE_PUB_KEY", mnPub)
	mw.WriteField("UPLOADCARE_STORE", "1")
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		return "", err
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequest(http.MethodPost, n.base+"/base/", &buf)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, body, err := mnDo(n.client, req)
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("node %s: /base/: %d %q (err %v)", n.name, status, body, err)
	}
	var out struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.File == "" {
		return "", fmt.Errorf("node %s: /base/ answered %q", n.name, body)
	}
	return out.File, nil
}

// (a) Start on A, parts alternately to A and B (in parallel), complete on B,
// download from A.
func mnMultipartAcross(t *testing.T, a, b *mnNode) {
	data := mnData(1, mnMPSize)
	id, parts := a.startMultipart(t, "across.bin", len(data))
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		node := a
		if i%2 == 1 {
			node = b
		}
		target := node.retarget(t, p)
		wg.Go(func() {
			body := mnPart(data, i)
			if err := node.putPart(target, bytes.NewReader(body), len(body)); err != nil {
				errs[i] = fmt.Errorf("part %d via node %s: %w", i+1, node.name, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.completeOK(t, id, len(data))
	a.checkServed(t, id, data)
	b.checkServed(t, id, data)
	t.Logf("%d bytes in %d parts (odd parts via A, even via B), completed on B, identical on A and B", len(data), len(parts))
}

// (b) From URL: started on B, polled on A, served by A; the source is
// downloaded exactly once.
func mnFromURLAcross(t *testing.T, a, b *mnNode) {
	data := mnData(2, 3<<20+12345)
	var (
		mu   sync.Mutex
		gets int
	)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/source.bin" {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			mu.Lock()
			gets++
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	}))
	defer src.Close()

	status, body, err := b.postForm("/from_url/", url.Values{"pub_key": {mnPub}, "store": {"1"}, "source_url": {src.URL + "/source.bin"}})
	var tok struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.Type != "token" || tok.Token == "" {
		t.Fatalf("node B: /from_url/: %d %q (err %v)", status, body, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var st struct {
		Status string `json:"status"`
		UUID   string `json:"uuid"`
		Size   int    `json:"size"`
		Error  string `json:"error"`
	}
	seen := map[string]bool{}
	for {
		status, body, err := mnDo(a.client, mnGet(t, a.base+"/from_url/status/?token="+url.QueryEscape(tok.Token)))
		if err != nil || status != http.StatusOK {
			t.Fatalf("node A: /from_url/status/: %d %q (err %v)", status, body, err)
		}
		st.Status = ""
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("node A: /from_url/status/ answered %q: %v", body, err)
		}
		seen[st.Status] = true
		switch st.Status {
		case "waiting", "progress":
		case "success":
		default:
			t.Fatalf("node A: /from_url/status/ answered %s", body)
		}
		if st.Status == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("from-URL task %s not done after 30s; last status %s", tok.Token, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Size != len(data) || st.UUID == "" {
		t.Fatalf("node A: success status has uuid %q size %d, want size %d", st.UUID, st.Size, len(data))
	}
	a.checkServed(t, st.UUID, data)
	mu.Lock()
	n := gets
	mu.Unlock()
	if n != 1 {
		t.Errorf("the source was downloaded %d times, want once", n)
	}
	t.Logf("from-URL task %s: started on B, statuses seen on A %v, file %s served by A", tok.Token, mnKeys(seen), st.UUID)
}

func mnKeys(m map[string]bool) []string {
	var out []string
	for _, k := range []string{"waiting", "progress", "success"} {
		if m[k] {
			out = append(out, k)
		}
	}
	return out
}

// mnReceiver records webhook deliveries.
type mnReceiver struct {
	secret string
	mu     sync.Mutex
	byID   map[string]int    // delivery id → times received
	byFile map[string]int    // file uuid → deliveries
	idFile map[string]string // delivery id → file uuid
	bad    []string
}

func (rc *mnReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	id := r.Header.Get("X-Satchel-Delivery-Id")
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write(body)
	if want := "v1=" + hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(r.Header.Get("X-Uc-Signature")), []byte(want)) {
		rc.bad = append(rc.bad, fmt.Sprintf("delivery %q: bad signature %q", id, r.Header.Get("X-Uc-Signature")))
	}
	var p struct {
		Hook struct {
			Event string `json:"event"`
		} `json:"hook"`
		Data struct {
			UUID string `json:"uuid"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Hook.Event != "file.uploaded" || p.Data.UUID == "" || id == "" {
		rc.bad = append(rc.bad, fmt.Sprintf("delivery %q: unexpected payload %.300s", id, body))
	}
	rc.byID[id]++
	rc.byFile[p.Data.UUID]++
	rc.idFile[id] = p.Data.UUID
	w.WriteHeader(http.StatusOK)
}

// (c) Webhooks: one subscription (made on A), uploads through both nodes;
// every file gets one delivery and no delivery id arrives twice.
func mnWebhooksOnce(t *testing.T, a, b *mnNode) {
	rc := &mnReceiver{secret: "mnsecret", byID: map[string]int{}, byFile: map[string]int{}, idFile: map[string]string{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	req, err := http.NewRequest(http.MethodPost, a.base+"/webhooks/", strings.NewReader(fmt.Sprintf(`{"target_url":%q,"event":"file.uploaded","signing_secret":%q}`, hook.URL+"/hook", rc.secret)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
	req.Header.Set("Authorization", "Uploadcare.Simple "+mnPub+":"+mnSecret)
	if status, body, err := mnDo(a.client, req); err != nil || status != http.StatusCreated {
		t.Fatalf("node A: POST /webhooks/: %d %q (err %v)", status, body, err)
	}

	const files = 12
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[string]bool{}
		errs []error
		sem  = make(chan struct{}, 4)
	)
	for i := range files {
		node := a
		if i%2 == 1 {
			node = b
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := node.uploadDirect(mnData(uint64(100+i), 32<<10+i), fmt.Sprintf("hook-%d.bin", i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[id] = true
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Wait for one delivery per file, then a little longer for duplicates:
	// both nodes poll the queue every second.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc.mu.Lock()
		got := 0
		for id := range ids {
			if rc.byFile[id] > 0 {
				got++
			}
		}
		rc.mu.Unlock()
		if got == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, %d of %d files had a delivery", got, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, msg := range rc.bad {
		t.Error(msg)
	}
	for id, n := range rc.byID {
		if n != 1 {
			t.Errorf("delivery %s (file %s) received %d times, want once", id, rc.idFile[id], n)
		}
	}
	for f, n := range rc.byFile {
		switch {
		case !ids[f]:
			t.Errorf("a delivery for file %q, which was not uploaded in this step", f)
		case n != 1:
			t.Errorf("file %s: %d deliveries, want 1", f, n)
		}
	}
	// Which node sent what (each worker logs its deliveries at debug level).
	byA, byB := a.delivered(), b.delivered()
	if byA+byB != mnSum(rc.byID) {
		t.Errorf("the nodes logged %d+%d deliveries, the receiver got %d", byA, byB, mnSum(rc.byID))
	}
	t.Logf("%d files uploaded through A and B: %d deliveries with %d distinct ids, sent %d by A and %d by B", len(ids), mnSum(rc.byID), len(rc.byID), byA, byB)
}

// delivered counts the webhook deliveries n's log says it made.
func (n *mnNode) delivered() int {
	return strings.Count(n.out.String(), `msg="webhook: delivered"`)
}

func mnSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// mnStallingSource serves data; the first GET sends the first half and then
// waits until the client goes away (or the source is closed), so the node
// that runs the download can be killed mid-transfer.
type mnStallingSource struct {
	data     []byte
	mu       sync.Mutex
	gets     int
	first    chan struct{} // closed when the first GET starts
	firstEnd chan struct{} // closed when the first GET's client went away
	release  chan struct{}
}

func newStallingSource(data []byte) *mnStallingSource {
	return &mnStallingSource{data: data, first: make(chan struct{}), firstEnd: make(chan struct{}), release: make(chan struct{})}
}

func (s *mnStallingSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Content-Length", fmt.Sprint(len(s.data)))
		return
	}
	s.mu.Lock()
	s.gets++
	n := s.gets
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(len(s.data)))
	if n > 1 {
		w.Write(s.data)
		return
	}
	close(s.first)
	w.Write(s.data[:len(s.data)/2])
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
		close(s.firstEnd)
	case <-s.release:
	}
}

func (s *mnStallingSource) getCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// (d) SIGKILL node A in the middle of two uploads:
//
//   - a multipart upload: parts 1-2 acknowledged by A, parts 3 and 4 half
//     sent to A when it dies. The client re-sends every part A did not
//     acknowledge (and the rest) to B, completes on B and gets its bytes back;
//   - a from-URL task A was downloading: B takes it over once River sees the
//     job's heartbeat stop, and finishes it; the status is read on B.
func mnKilledMidUploads(t *testing.T, a, b *mnNode) {
	fetched := mnData(4, 2<<20+777)
	src := newStallingSource(fetched)
	srv := httptest.NewServer(src)
	defer srv.Close()
	defer close(src.release)
	status, body, err := a.postForm("/from_url/", url.Values{"pub_key": {mnPub}, "store": {"1"}, "source_url": {srv.URL + "/stall.bin"}})
	var tok struct {
		Token string `json:"token"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		t.Fatalf("node A: /from_url/: %d %q (err %v)", status, body, err)
	}
	select {
	case <-src.first:
	case <-time.After(15 * time.Second):
		t.Fatal("the from-URL source got no request within 15s")
	}

	data := mnData(3, mnMPSize)
	id, parts := a.startMultipart(t, "killed.bin", len(data))
	acked := make([]bool, len(parts))
	for i := range 2 {
		body := mnPart(data, i)
		if err := a.putPart(parts[i], bytes.NewReader(body), len(body)); err != nil {
			t.Fatalf("part %d via A: %v", i+1, err)
		}
		acked[i] = true
	}

	// Parts 3 and 4 go to A through pipes: half of each is written, then A
	// is killed while it waits for the rest.
	type inflight struct {
		i   int
		pw  *io.PipeWriter
		err chan error
	}
	var fl []inflight
	for _, i := range []int{2, 3} {
		pr, pw := io.Pipe()
		f := inflight{i: i, pw: pw, err: make(chan error, 1)}
		body := mnPart(data, i)
		go func() { f.err <- a.putPart(parts[i], pr, len(body)) }()
		fl = append(fl, f)
	}
	for _, f := range fl {
		body := mnPart(data, f.i)
		if _, err := f.pw.Write(body[:len(body)/2]); err != nil {
			t.Fatalf("part %d: writing the first half to A: %v", f.i+1, err)
		}
	}
	time.Sleep(200 * time.Millisecond) // let A pass the bytes on to S3
	killed := time.Now()
	a.kill()
	if a.alive() {
		t.Fatal("node A still alive after SIGKILL")
	}
	for _, f := range fl {
		f.pw.CloseWithError(io.ErrClosedPipe)
		select {
		case err := <-f.err:
			if err == nil {
				// An answer we got counts as an acknowledgement.
				acked[f.i] = true
				t.Logf("part %d: A acknowledged it before dying", f.i+1)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("part %d: the PUT to the killed node did not end", f.i+1)
		}
	}
	// The download in flight was A's if its connection died with A.
	fetchOnA := true
	select {
	case <-src.firstEnd:
	case <-time.After(5 * time.Second):
		fetchOnA = false
		t.Logf("the from-URL download was not running on A (B claimed it first): no takeover to check")
	}

	// B refuses to complete while parts are missing.
	const mismatch = "File size mismatch. Not all parts uploaded?"
	if status, body, err := b.complete(id); err != nil || status != http.StatusBadRequest || string(body) != mismatch {
		t.Fatalf("node B: /multipart/complete/ with parts missing: %d %q (err %v), want 400 %q", status, body, err, mismatch)
	}
	resent := 0
	for i, p := range parts {
		if acked[i] {
			continue
		}
		body := mnPart(data, i)
		if err := b.putPart(b.retarget(t, p), bytes.NewReader(body), len(body)); err != nil {
			t.Fatalf("part %d via B after A died: %v", i+1, err)
		}
		acked[i] = true
		resent++
	}
	b.completeOK(t, id, len(data))
	b.checkServed(t, id, data)
	t.Logf("multipart: A killed with 2 of %d parts acknowledged and 2 half sent; %d parts sent to B; completed on B with identical bytes", len(parts), resent)

	if !fetchOnA {
		return
	}
	// B takes the task over once River sees the job's heartbeat stop
	// (--job-rescue-after, 20 s) and its rescuer (every 30 s, on the leader,
	// which may have been A) retries it.
	deadline := time.Now().Add(90 * time.Second)
	for {
		status, body, err := mnDo(b.client, mnGet(t, b.base+"/from_url/status/?token="+url.QueryEscape(tok.Token)))
		var st struct {
			Status string `json:"status"`
			UUID   string `json:"uuid"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &st) != nil {
			t.Fatalf("node B: /from_url/status/: %d %q (err %v)", status, body, err)
		}
		if st.Status == "success" {
			b.checkServed(t, st.UUID, fetched)
			break
		}
		if st.Status != "waiting" && st.Status != "progress" {
			t.Fatalf("node B: from-URL task of the killed node: %s", body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the from-URL task of the killed node was not finished by B within 90s; last status %s", body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := src.getCount(); n != 2 {
		t.Errorf("the source was requested %d times, want 2 (A's, cut by the kill, and B's)", n)
	}
	t.Logf("from URL: the task A was downloading when killed was finished by B %v after the kill", time.Since(killed).Round(100*time.Millisecond))
}

// Regression tests for multi-node defects found while writing TestMultiNode
// (a starting node aborting other nodes' uploads, crash recovery deleting
// other nodes' blobs, a stalled from-URL download running twice). They need
// the PostgreSQL and S3 variables.

// mnReproSetup skips unless asked for, and returns what nodes need.
func mnReproSetup(t *testing.T) (bin, dsn, storage, tmp string) {
	if testing.Short() || runtime.GOOS == "windows" {
		t.Skip("needs processes and SIGKILL")
	}
	dsn = testenv.PostgresDSN(t)
	storage = testenv.S3BucketURL(t)
	mnEmptyPrefixAtEnd(t, storage)
	return mnBuild(t), dsn, storage, t.TempDir()
}

// Starting a node (even cleanly, on a fresh data dir) aborts every S3
// multipart upload under the prefix that has no session row — including the
// ones other nodes use to stream direct uploads and from-URL downloads larger
// than one S3 part (8 MiB), which then fail with HTTP 500.
func TestMultiNodeReproStartAbortsOtherNodesUploads(t *testing.T) {
	bin, dsn, storage, tmp := mnReproSetup(t)
	a := mnStart(t, "A", bin, filepath.Join(tmp, "a"), dsn, storage)
	data := mnData(9, 40<<20)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	res := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, a.base+"/base/", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		status, body, err := mnDo(a.client, req)
		if err != nil || status != http.StatusOK {
			res <- fmt.Sprintf("HTTP %d %q (err %v)", status, body, err)
			return
		}
		res <- ""
	}()
	mw.WriteField("UPLOADCARE_PUB_KEY", mnPub)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(data[:20<<20]) // A has started an S3 multipart upload for it
	time.Sleep(300 * time.Millisecond)
	mnStart(t, "B", bin, filepath.Join(tmp, "b"), dsn, storage)
	fw.Write(data[20<<20:])
	mw.Close()
	pw.Close()
	if r := <-res; r != "" {
		t.Errorf("a 40 MiB direct upload to node A failed because node B started meanwhile: %s", r)
	}
}

// After an unclean stop, a node's start deletes every blob written since its
// previous start that has no file row — including blobs other nodes have just
// written and are about to record, so acknowledged files lose their bytes.
// The race window is small: a few files in a thousand, with six restarts.
func TestMultiNodeReproUncleanRestartDeletesOtherNodesBlobs(t *testing.T) {
	bin, dsn, storage, tmp := mnReproSetup(t)
	a := mnStart(t, "A", bin, filepath.Join(tmp, "a"), dsn, storage)
	b := mnStart(t, "B", bin, filepath.Join(tmp, "b"), dsn, storage)
	stop := make(chan struct{})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []string
	)
	for g := range 8 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				id, err := b.uploadDirect(mnData(uint64(g<<20+k), 200<<10), "x.bin")
				if err != nil {
					t.Errorf("upload to B: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	for range 6 {
		time.Sleep(700 * time.Millisecond)
		a.kill()
		a = mnStart(t, "A", bin, filepath.Join(tmp, "a"), dsn, storage)
	}
	close(stop)
	wg.Wait()
	lost := 0
	for _, id := range acked {
		resp, err := b.client.Get(b.base + "/" + id + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			lost++
			t.Errorf("file %s, acknowledged by B, answers HTTP %d after A's unclean restarts", id, resp.StatusCode)
		}
	}
	t.Logf("%d files acknowledged by B while A was killed and restarted 6 times; %d lost", len(acked), lost)
}

// A from-URL task whose source sends nothing for longer than River's rescue
// horizon (20 s) must not be run again while its first download is alive
// (its heartbeat keeps it): the source is downloaded once, the project gets
// one file.
func TestMultiNodeReproStalledFetchRunsTwice(t *testing.T) {
	bin, dsn, storage, tmp := mnReproSetup(t)
	a := mnStart(t, "A", bin, filepath.Join(tmp, "a"), dsn, storage)
	mnStart(t, "B", bin, filepath.Join(tmp, "b"), dsn, storage)
	data := mnData(5, 2<<20)
	var (
		mu   sync.Mutex
		gets int
	)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gets++
		n := gets
		mu.Unlock()
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:1<<20])
		w.(http.Flusher).Flush()
		if n == 1 { // a slow source: 35 s without a byte
			select {
			case <-time.After(35 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		w.Write(data[1<<20:])
	}))
	defer src.Close()
	status, body, err := a.postForm("/from_url/", url.Values{"pub_key": {mnPub}, "store": {"1"}, "source_url": {src.URL + "/slow.bin"}})
	var tok struct {
		Token string `json:"token"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tok) != nil {
		t.Fatalf("/from_url/: %d %q (err %v)", status, body, err)
	}
	var uuids []string
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		_, body, _ := mnDo(a.client, mnGet(t, a.base+"/from_url/status/?token="+tok.Token))
		var st struct {
			Status string `json:"status"`
			UUID   string `json:"uuid"`
		}
		json.Unmarshal(body, &st)
		if st.Status == "success" && (len(uuids) == 0 || uuids[len(uuids)-1] != st.UUID) {
			uuids = append(uuids, st.UUID)
		}
		time.Sleep(250 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if gets != 1 || len(uuids) != 1 {
		t.Errorf("one from-URL task: source downloaded %d times, status reported success with uuids %v", gets, uuids)
	}
}

// A from-URL download running on a node that is killed (SIGKILL) is taken
// over by another node once River sees the job's heartbeat stop, and runs
// there once. Node B starts only after A has begun the download, so the job
// is A's for sure.
func TestMultiNodeKilledFetchTakenOver(t *testing.T) {
	bin, dsn, storage, tmp := mnReproSetup(t)
	a := mnStart(t, "A", bin, filepath.Join(tmp, "a"), dsn, storage)
	fetched := mnData(6, 1<<20+333)
	src := newStallingSource(fetched)
	srv := httptest.NewServer(src)
	defer srv.Close()
	defer close(src.release)
	status, body, err := a.postForm("/from_url/", url.Values{"pub_key": {mnPub}, "store": {"1"}, "source_url": {srv.URL + "/stall.bin"}})
	var tok struct {
		Token string `json:"token"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		t.Fatalf("node A: /from_url/: %d %q (err %v)", status, body, err)
	}
	select {
	case <-src.first:
	case <-time.After(15 * time.Second):
		t.Fatal("the from-URL source got no request within 15s")
	}
	b := mnStart(t, "B", bin, filepath.Join(tmp, "b"), dsn, storage)
	killed := time.Now()
	a.kill()
	deadline := time.Now().Add(90 * time.Second)
	for {
		status, body, err := mnDo(b.client, mnGet(t, b.base+"/from_url/status/?token="+url.QueryEscape(tok.Token)))
		var st struct {
			Status string `json:"status"`
			UUID   string `json:"uuid"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &st) != nil {
			t.Fatalf("node B: /from_url/status/: %d %q (err %v)", status, body, err)
		}
		if st.Status == "success" {
			b.checkServed(t, st.UUID, fetched)
			break
		}
		if st.Status != "waiting" && st.Status != "progress" {
			t.Fatalf("node B: from-URL task of the killed node: %s", body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the from-URL task of the killed node was not finished by B within 90s; last status %s", body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := src.getCount(); n != 2 {
		t.Errorf("the source was requested %d times, want 2 (A's, cut by the kill, and B's)", n)
	}
	t.Logf("the download A was running when killed was finished by B %v after the kill", time.Since(killed).Round(100*time.Millisecond))
}
