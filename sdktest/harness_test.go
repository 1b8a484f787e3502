package sdktest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare"
)

const (
	testPub    = "demopublickey"
	testSecret = "demosecretkey"
)

// satchelNode is a real Satchel (SQLite and disk in a temp dir) on an
// httptest listener.
type satchelNode struct {
	*server.Server
	URL string
}

// newNode starts a Satchel; mutate may change its config, project may
// change the demo project before any request (so no cache is involved).
func newNode(tb testing.TB, mutate func(*server.Config), project func(*satchel.Project)) *satchelNode {
	tb.Helper()
	n, stop, err := startNode(tb.TempDir(), mutate, project)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return n
}

func startNode(dir string, mutate func(*server.Config), project func(*satchel.Project)) (*satchelNode, func(), error) {
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	cfg := server.Config{
		ListenURL:         ts.URL,
		DataDir:           dir,
		FetchAllowPrivate: true,
		DemoPublicKey:     testPub,
		DemoSecretKey:     testSecret,
		Log:               slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		ts.Close()
		return nil, nil, fmt.Errorf("start satchel: %w", err)
	}
	if project != nil {
		ctx := context.Background()
		p, err := s.Store.ProjectByPublicKey(ctx, testPub)
		if err == nil {
			project(p)
			err = s.Store.UpdateProject(ctx, p)
		}
		if err != nil {
			ts.Close()
			s.Close()
			return nil, nil, err
		}
	}
	ts.Config.Handler = s.Handler()
	return &satchelNode{Server: s, URL: ts.URL}, func() { ts.Close(); s.Close() }, nil
}

// client returns an SDK client for the node; mutate may change its config.
func (n *satchelNode) client(tb testing.TB, mutate func(*ucare.Config)) *ucare.Client {
	tb.Helper()
	cfg := ucare.Config{
		PublicKey: testPub, SecretKey: testSecret,
		UploadBase: n.URL, APIBase: n.URL, CDNBase: n.URL,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := ucare.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// faultyTransport fails requests chosen by fail (with a network error) and
// counts the requests it sees.
type faultyTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	fail func(r *http.Request, seen int) bool
	// seen counts requests per key (method + path + partNumber).
	seen  map[string]int
	total atomic.Int64
}

func newFaulty(fail func(r *http.Request, seen int) bool) *faultyTransport {
	return &faultyTransport{base: http.DefaultTransport, fail: fail, seen: map[string]int{}}
}

func reqKey(r *http.Request) string {
	k := r.Method + " " + r.URL.Path
	if pn := r.URL.Query().Get("partNumber"); pn != "" {
		k += "#" + pn
	}
	return k
}

func (f *faultyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.total.Add(1)
	f.mu.Lock()
	k := reqKey(r)
	f.seen[k]++
	n := f.seen[k]
	fail := f.fail != nil && f.fail(r, n)
	f.mu.Unlock()
	if fail {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return nil, fmt.Errorf("injected failure of %s (attempt %d)", k, n)
	}
	return f.base.RoundTrip(r)
}

func (f *faultyTransport) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[key]
}

// testdata makes n deterministic pseudo-random bytes.
func testdata(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// Examples share one node, started by TestMain.
var (
	satchelURL string
	sourceURL  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ucare-example-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n, stop, err := startNode(dir, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	satchelURL = n.URL
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello from the web\n")
	}))
	sourceURL = src.URL + "/greeting.txt"
	code := m.Run()
	src.Close()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}
