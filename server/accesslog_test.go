package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare/akamai"
	ucfile "github.com/uploadcare/uploadcare-go/file"
	"github.com/uploadcare/uploadcare-go/ucare"
)

// authRecorder notes the Authorization headers a client sends.
type authRecorder struct {
	base http.RoundTripper
	seen []string
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		a.seen = append(a.seen, h)
	}
	return a.base.RoundTrip(r)
}

// logBuffer collects a node's log output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log records with the given message.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(b.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// TestAccessLogsAndRequestIDs: one access line per request with its route,
// status, size, duration, project and request id; a sane X-Request-Id is
// kept and echoed, anything else replaced; lines logged with the request's
// context carry its id.
func TestAccessLogsAndRequestIDs(t *testing.T) {
	logs := &logBuffer{}
	s := startServer(t, func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "lb-4711.a:b_c")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "lb-4711.a:b_c" {
		t.Fatalf("echoed request id %q", got)
	}
	req.Header.Set("X-Request-Id", "bad id <script>"+strings.Repeat("x", 100))
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	generated := resp.Header.Get("X-Request-Id")
	if generated == "" || strings.Contains(generated, "bad") {
		t.Fatalf("unsafe request id kept: %q", generated)
	}
	uploadDirect(t, s.URL, []byte("hello access log"), "a.txt")

	s.SetDraining()
	req, _ = http.NewRequest("GET", s.URL+"/readyz", nil)
	req.Header.Set("X-Request-Id", "probe-1")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()

	deadline := time.Now().Add(5 * time.Second)
	var lines []map[string]any
	for {
		lines = logs.records(t, "http request")
		if len(lines) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(lines) != 4 {
		t.Fatalf("%d access lines, want 4:\n%s", len(lines), logs.String())
	}
	up := lines[2]
	want := map[string]any{"method": "POST", "route": "POST /base/", "path": "/base/", "status": float64(200), "project": testPub}
	for k, v := range want {
		if up[k] != v {
			t.Errorf("access line %s = %v, want %v (%v)", k, up[k], v, up)
		}
	}
	if up["bytes"].(float64) <= 0 || up["duration"] == nil || up["request_id"] == "" {
		t.Errorf("access line lacks size, duration or id: %v", up)
	}
	if lines[0]["request_id"] != "lb-4711.a:b_c" || lines[1]["request_id"] != generated {
		t.Errorf("request ids in the log: %v, %v", lines[0]["request_id"], lines[1]["request_id"])
	}
	if lines[3]["status"] != float64(503) {
		t.Errorf("readyz line: %v", lines[3])
	}
	warn := logs.records(t, "not ready")
	if len(warn) != 1 || warn[0]["request_id"] != "probe-1" {
		t.Errorf("log line of the request does not carry its id: %v", warn)
	}
}

// TestLogsHoldNoSecrets runs signed uploads, secure delivery tokens, REST
// calls with simple and signed auth and a signed webhook delivery, with
// every log line captured, and proves no secret, signature or token is in
// them.
func TestLogsHoldNoSecrets(t *testing.T) {
	logs := &logBuffer{}
	s := startServer(t, func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	const cdnSecret = "5f1e0c3a9b7d24681357ace0bdf2468013579bdf2468ace013579bdf2468ace0"
	const hookSecret = "hook-signing-secret-7731"
	p, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	p.SignedUploads = true
	p.SecureDeliverySecret = cdnSecret
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	var deliveredMu sync.Mutex
	var delivered []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deliveredMu.Lock()
		delivered = append(delivered, r.Header.Get("X-Uc-Signature"))
		deliveredMu.Unlock()
	}))
	defer hook.Close()
	if code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json",
		`{"target_url":"`+hook.URL+`/","event":"file.uploaded","signing_secret":"`+hookSecret+`"}`); code != 201 {
		t.Fatalf("create webhook: %d %s", code, body)
	}

	expire := time.Now().Add(time.Hour).Unix()
	sig := app.UploadSignature(testSecret, expire)
	fields := [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "1"}, {"signature", sig}, {"expire", strconv.FormatInt(expire, 10)}}
	code, _, body := postMultipart(t, s.URL+"/base/", fields, []part{{"file", "s.txt", []byte("signed upload")}})
	if code != 200 {
		t.Fatalf("signed upload: %d %s", code, body)
	}
	var up map[string]string
	json.Unmarshal([]byte(body), &up)
	id := up["file"]
	// A wrong signature is refused, and not logged either.
	badSig := strings.Repeat("ab", 32)
	bad := [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"signature", badSig}, {"expire", strconv.FormatInt(expire, 10)}}
	if code, _, _ := postMultipart(t, s.URL+"/base/", bad, []part{{"file", "x.txt", []byte("x")}}); code == 200 {
		t.Fatal("upload with a wrong signature accepted")
	}

	acl, _ := akamai.ACLToken(cdnSecret, "/"+id+"/", expire, true)
	if resp, _ := get(t, s.URL+"/"+id+"/?token="+acl, nil); resp.StatusCode != 200 {
		t.Fatalf("secure delivery: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.URL+"/"+id+"/?token="+acl+"0", nil); resp.StatusCode != 403 {
		t.Fatalf("tampered token: %d", resp.StatusCode)
	}
	if code, _, body := rawREST(t, "GET", s.URL+"/files/"+id+"/", v7, "", ""); code != 200 {
		t.Fatalf("REST simple auth: %d %s", code, body)
	}
	// The signed REST client's Authorization headers hold signatures.
	auths := &authRecorder{base: rewritingHTTPClient(s.URL).Transport}
	signed, err := ucare.NewClient(ucare.APICreds{PublicKey: testPub, SecretKey: testSecret}, &ucare.Config{
		HTTPClient: &http.Client{Transport: auths}, SignBasedAuthentication: true, APIVersion: ucare.APIv06,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ucfile.NewService(signed).Info(ctx, id); err != nil {
		t.Fatalf("REST signed auth: %v", err)
	}
	wrong, _ := http.NewRequest("GET", s.URL+"/files/"+id+"/", nil)
	wrong.Header.Set("Accept", v7)
	wrong.Header.Set("Authorization", "Uploadcare.Simple "+testPub+":wrong-secret-value-123")
	if resp, err := http.DefaultClient.Do(wrong); err != nil || resp.StatusCode == 200 {
		t.Fatalf("wrong secret accepted: %v", err)
	} else {
		resp.Body.Close()
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		deliveredMu.Lock()
		n := len(delivered)
		deliveredMu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("webhook not delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the delivery's own log lines

	out := logs.String()
	if len(logs.records(t, "http request")) < 8 {
		t.Fatalf("workload not logged:\n%s", out)
	}
	secrets := map[string]string{
		"project secret": testSecret, "upload signature": sig, "wrong upload signature": badSig,
		"delivery token": acl, "delivery token hmac": acl[strings.LastIndex(acl, "=")+1:],
		"CDN secret": cdnSecret, "webhook secret": hookSecret, "wrong REST secret": "wrong-secret-value-123",
	}
	for i, a := range auths.seen {
		_, sig, _ := strings.Cut(a, ":")
		secrets["REST signature "+strconv.Itoa(i)] = sig
	}
	deliveredMu.Lock()
	for i, d := range delivered {
		secrets["webhook signature "+strconv.Itoa(i)] = d
	}
	deliveredMu.Unlock()
	for what, v := range secrets {
		if v != "" && strings.Contains(out, v) {
			t.Errorf("the %s appears in the logs", what)
		}
	}
}
