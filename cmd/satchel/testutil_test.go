package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// goCommand finds the go tool that builds the binary under test.
func goCommand() (string, error) {
	return exec.LookPath("go")
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port nobody listens on.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// satchelProcess is a running `satchel serve`.
type satchelProcess struct {
	cmd     *exec.Cmd
	out     *lockedBuffer
	base    string
	client  *http.Client
	done    chan struct{}
	waitErr error // valid once done is closed
}

// startSatchel runs `satchel serve` from bin on addr and dataDir, with the
// demo project's keys and any extra flags, and waits until /healthz answers.
// The process is killed when the test ends, and its output logged if the
// test failed.
func startSatchel(t testing.TB, bin, addr, dataDir, pub, secret string, extra ...string) *satchelProcess {
	t.Helper()
	args := append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--rate-limit", "0", "--log-level", "info"}, extra...)
	cmd := exec.Command(bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SATCHEL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "SATCHEL_DEMO_PUBLIC_KEY="+pub, "SATCHEL_DEMO_SECRET_KEY="+secret)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	p := &satchelProcess{
		cmd: cmd, out: out, base: "http://" + addr, done: make(chan struct{}),
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
			Timeout:   60 * time.Second,
		},
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start satchel: %v", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of satchel (pid %d):\n%s", cmd.Process.Pid, out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("satchel exited while starting: %v\n%s", p.waitErr, out.String())
		default:
		}
		if resp, err := p.client.Get(p.base + "/healthz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("satchel did not answer /healthz on %s within 30s\n%s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL (if the process still runs) and waits for it to exit.
func (p *satchelProcess) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
	p.client.CloseIdleConnections()
}
