package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// What the official JavaScript clients (@uploadcare/upload-client and
// @uploadcare/rest-client, exercised for real in e2e/clients.test.mjs) need
// from answers, pinned here where a Go test can state it.

// TestFromURLStatusWhileConnecting: until the source has answered, a from-URL
// task is "waiting" with a numeric total. "progress" with a null total makes
// the JS upload client report done/null as computable progress (the string
// "unknown" it understands would break the Go client's uint64 decoding).
func TestFromURLStatusWhileConnecting(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(t, 8, 8))
	}))
	defer src.Close()
	s := startServer(t, nil)
	q := url.Values{"pub_key": {testPub}, "source_url": {src.URL + "/slow.png"}, "store": {"0"}, "jsonerrors": {"1"}}
	_, _, body := do(t, "POST", s.URL+"/from_url/?"+q.Encode(), nil, "")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		close(release)
		t.Fatalf("from_url: %q", body)
	}
	<-arrived
	_, _, body = do(t, "GET", s.URL+"/from_url/status/?jsonerrors=1&token="+tok.Token, nil, "")
	close(release)
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status %q: %v", body, err)
	}
	if st["status"] != "waiting" || st["total"] != float64(0) || st["done"] != float64(0) {
		t.Fatalf("status while connecting: %s", body)
	}
	if end := fromURLDone(t, s.URL, `{"type":"token","token":"`+tok.Token+`"}`); end["status"] != "success" {
		t.Fatalf("end: %v", end)
	}
}

// TestRESTUnroutedRequestsAnswerJSON: a REST request no route takes is
// answered with a JSON detail and the API's content type (the JS REST
// client reports an error body only from JSON): 405 with Allow when the path
// has other methods, 404 otherwise.
func TestRESTUnroutedRequestsAnswerJSON(t *testing.T) {
	s := startServer(t, nil)
	id := uploadN(t, s.URL, 1, "1")[0]
	for _, c := range []struct {
		method, path string
		status       int
		allow, want  string
	}{
		// File search's path also reads as a file's.
		{"PUT", "/files/search/", 405, "GET, POST, DELETE", `{"detail":"Method \"PUT\" not allowed."}`},
		{"POST", "/groups/a/b/", 404, "", `{"detail":"Not found."}`},
		{"POST", "/files/" + id + "/", 405, "GET, DELETE", `{"detail":"Method \"POST\" not allowed."}`},
		{"PATCH", "/webhooks/1/", 405, "PUT, DELETE", `{"detail":"Method \"PATCH\" not allowed."}`},
		{"DELETE", "/project/", 405, "GET", `{"detail":"Method \"DELETE\" not allowed."}`},
		{"PUT", "/convert/nothing/", 404, "", `{"detail":"Not found."}`},
	} {
		code, h, body := rawREST(t, c.method, s.URL+c.path, v7, "application/json", "{}")
		if code != c.status || h.Get("Allow") != c.allow || strings.TrimSpace(body) != c.want ||
			h.Get("Content-Type") != "application/vnd.uploadcare-v0.7+json" {
			t.Errorf("%s %s: %d %v %s", c.method, c.path, code, h, body)
		}
	}
}
