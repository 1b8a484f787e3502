package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/server"
)

func readyz(t *testing.T, base string) int {
	t.Helper()
	code, _, _ := do(t, "GET", base+"/readyz", nil, "")
	return code
}

// waitReady polls /readyz until it answers want.
func waitReady(t *testing.T, base string, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code := readyz(t, base)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d, want %d", code, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReadyzDraining(t *testing.T) {
	s := startServer(t, nil)
	if code := readyz(t, s.URL); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	s.SetDraining()
	if code := readyz(t, s.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d", code)
	}
	if code, _, body := do(t, "GET", s.URL+"/healthz", nil, ""); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz while draining: %d %q", code, body)
	}
}

// TestReadyzStoreClosed: once the node's database is closed, /readyz says so.
func TestReadyzStoreClosed(t *testing.T) {
	cfg := server.Config{DataDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testenv.HasPostgres() {
		cfg.DatabaseURL = testenv.PostgresDSN(t)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if code := readyz(t, ts.URL); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if code := readyz(t, ts.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the store closed: %d", code)
	}
}

// tcpProxy forwards connections to target; stop cuts every connection and
// refuses new ones until start.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (p *tcpProxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestReadyzPostgresDown: with PostgreSQL unreachable /readyz answers 503,
// and 200 again once it is back.
func TestReadyzPostgresDown(t *testing.T) {
	if !testenv.HasPostgres() {
		t.Skip(testenv.PostgresURL + " not set")
	}
	dsn, err := url.Parse(testenv.PostgresDSN(t))
	if err != nil || dsn.Host == "" {
		t.Skip("PostgreSQL DSN is not a URL")
	}
	proxy := &tcpProxy{t: t, addr: "127.0.0.1:0", target: dsn.Host}
	proxy.start()
	defer proxy.stop()
	dsn.Host = proxy.addr
	s := startServer(t, func(c *server.Config) { c.DatabaseURL = dsn.String() })
	if code := readyz(t, s.URL); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	proxy.stop()
	waitReady(t, s.URL, http.StatusServiceUnavailable)
	proxy.start()
	waitReady(t, s.URL, http.StatusOK)
}
