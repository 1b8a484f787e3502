package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeMetricsListenerAndSecrets runs the binary with /metrics on its
// own token-protected listener and an operator-supplied demo secret: the
// metrics are there and only there, and the secret is never printed.
func TestServeMetricsListenerAndSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the satchel binary; skipped in -short mode")
	}
	goTool, err := goCommand()
	if err != nil {
		t.Skipf("go command not available: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "satchel")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const secret = "operator-secret-6d1f0a"
	addr, maddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", filepath.Join(tmp, "data"), "--metrics-addr", maddr)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SATCHEL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "SATCHEL_DEMO_PUBLIC_KEY=opspub", "SATCHEL_DEMO_SECRET_KEY="+secret, "SATCHEL_METRICS_TOKEN=scrape-token")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	get := func(u, token string) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := get("http://"+addr+"/readyz", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("satchel did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get("http://"+addr+"/metrics", "scrape-token"); code == 200 {
		t.Fatal("/metrics is served on the main address too")
	}
	if code, _ := get("http://"+maddr+"/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d", code)
	}
	code, body := get("http://"+maddr+"/metrics", "scrape-token")
	if code != 200 || !strings.Contains(body, `satchel_http_requests_total{code="200",route="GET /readyz",surface="other"}`) {
		t.Fatalf("/metrics on its listener: %d\n%s", code, body)
	}
	if !strings.Contains(out.String(), "Created the demo project") {
		t.Fatalf("no demo project message")
	}
	if strings.Contains(out.String(), secret) {
		t.Fatal("the operator's demo secret was printed")
	}
}
