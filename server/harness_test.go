package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/server"
	"github.com/uploadcare/uploadcare-go/ucare"
)

const (
	testPub    = "testpublickey"
	testSecret = "testsecretkey"
)

// testServer is a real Satchel node (SQLite + disk in a temp dir) behind an
// httptest listener.
type testServer struct {
	*server.Server
	URL string
	ts  *httptest.Server
}

func startServer(t testing.TB, mutate func(*server.Config)) *testServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	cfg := server.Config{
		ListenURL:         ts.URL,
		DataDir:           t.TempDir(),
		FetchAllowPrivate: true,
		DemoPublicKey:     testPub,
		DemoSecretKey:     testSecret,
		RateLimit:         0,
		Log:               slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testenv.HasPostgres() {
		cfg.DatabaseURL = testenv.PostgresDSN(t)
	}
	if testenv.HasS3() {
		cfg.StorageURL = testenv.S3BucketURL(t)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ts.Config.Handler = s.Handler()
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return &testServer{Server: s, URL: ts.URL, ts: ts}
}

// rewriteTransport sends requests for Uploadcare's hosts to a Satchel node:
// the recipe the README gives for the official Go client, whose hosts are fixed.
type rewriteTransport struct {
	target *url.URL
	base   http.RoundTripper
}

func (rt *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.URL.Host {
	case "upload.uploadcare.com", "api.uploadcare.com":
		r = r.Clone(r.Context())
		r.URL.Scheme = rt.target.Scheme
		r.URL.Host = rt.target.Host
	}
	return rt.base.RoundTrip(r)
}

// rewritingHTTPClient sends the Go client's Uploadcare-host requests to base.
func rewritingHTTPClient(base string) *http.Client {
	u, _ := url.Parse(base)
	return &http.Client{Transport: &rewriteTransport{target: u, base: http.DefaultTransport}, Timeout: 2 * time.Minute}
}

func ucClient(t testing.TB, base string, signed bool) ucare.Client {
	t.Helper()
	hc := rewritingHTTPClient(base)
	c, err := ucare.NewClient(ucare.APICreds{PublicKey: testPub, SecretKey: testSecret}, &ucare.Config{
		HTTPClient: hc, SignBasedAuthentication: signed, APIVersion: ucare.APIv06,
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}
