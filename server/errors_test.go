package server_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/satchel-project/satchel/server"
)

// TestErrorAnswersExact pins, byte for byte, error answers of both dialects
// that the official clients match on and no other test spells out: the REST
// webhook validation wording, the duplicate-subscription body, REST
// throttling, and Upload API codes in both error formats.
func TestErrorAnswersExact(t *testing.T) {
	s := startServer(t, nil)
	detail := func(t *testing.T, method, path, ctype, body string, status int, want string) {
		t.Helper()
		code, hdr, got := rawREST(t, method, s.URL+path, v7, ctype, body)
		if code != status || hdr.Get("Content-Type") != v7 || got != mustJSON(t, map[string]string{"detail": want}) {
			t.Errorf("%s %s %s: %d %q %s, want %d %q", method, path, body, code, hdr.Get("Content-Type"), got, status, want)
		}
	}
	const hook = "/webhooks/"
	const js = "application/json"
	detail(t, "POST", hook, js, `{"target_url":"ftp://x.example/h","event":"file.uploaded"}`, 400,
		"`target_url` must be an absolute http(s) URL of at most 255 characters.")
	detail(t, "POST", hook, js, `{"target_url":"https://x.example/h","event":"nope"}`, 400, "`event` is invalid: \"nope\".")
	detail(t, "POST", hook, js, `{"event":"file.uploaded","target_url":"https://x.example/h","signing_secret":"`+strings.Repeat("s", 33)+`"}`, 400,
		"`signing_secret` can not be longer than 32 characters.")
	detail(t, "POST", hook, js, `{"event":"file.uploaded","target_url":"https://x.example/h","version":"0.5"}`, 400, "`version` must be 0.6 or 0.7.")
	detail(t, "POST", hook, js, `{"event":"file.stored","target_url":"https://x.example/h","version":"0.6"}`, 400, "Payload version 0.6 supports only file.uploaded.")
	detail(t, "POST", hook, js, `{"target_url":"https://x.example/h"}`, 400, "`event` is missing.")
	detail(t, "DELETE", hook+"unsubscribe/", js, `{"target_url":"https://nobody.example/h"}`, 404, "Not found.")
	detail(t, "POST", "/files/local_copy/", js, `{}`, 400, "`source` parameter is required.")
	if code, _, _ := rawREST(t, "POST", s.URL+hook, v7, js, `{"target_url":"https://x.example/h","event":"file.uploaded"}`); code != 201 {
		t.Fatalf("create webhook: %d", code)
	}
	code, hdr, got := rawREST(t, "POST", s.URL+hook, v7, js, `{"target_url":"https://x.example/h","event":"file.uploaded"}`)
	const dup = "This project is already subscribed on this event"
	if want := mustJSON(t, map[string]any{"detail": dup, "non_field_errors": []string{dup}}); code != 400 || got != want || hdr.Get("Content-Type") != v7 {
		t.Errorf("duplicate webhook: %d %q %s, want %s", code, hdr.Get("Content-Type"), got, want)
	}

	// Upload API: text/plain with the status, or 200 and a JSON object.
	upload := func(t *testing.T, path string, status int, code, text string) {
		t.Helper()
		got, hdr, body := do(t, "GET", s.URL+path, nil, "")
		if got != status || body != text || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s: %d %q %q, want %d %q", path, got, hdr.Get("Content-Type"), body, status, text)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		got, hdr, body = do(t, "GET", s.URL+path+sep+"jsonerrors=1", nil, "")
		want := mustJSON(t, map[string]any{"error": map[string]any{"content": text, "status_code": status, "error_code": code}})
		if got != 200 || body != want || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s jsonerrors: %d %q %s, want %s", path, got, hdr.Get("Content-Type"), body, want)
		}
	}
	upload(t, "/from_url/?pub_key="+testPub, 400, "SourceURLRequiredError", "source_url is required.")
	upload(t, "/from_url/?pub_key="+testPub+"&source_url=ftp://x.example/f", 400, "URLSchemeInvalidError", "Invalid URL scheme.")
	upload(t, "/from_url/status/", 400, "TokenRequiredError", "token is required.")
	upload(t, "/group/info/?pub_key="+testPub, 400, "GroupIdRequiredError", "group_id is required.")
	upload(t, "/info/?pub_key=", 403, "ProjectPublicKeyRequiredError", "pub_key is required.")
	upload(t, "/info/?pub_key=nobody", 403, "ProjectPublicKeyInvalidError", "pub_key is invalid.")
	upload(t, "/info/?pub_key="+testPub, 400, "FileIdRequiredError", "file_id is required.")
	upload(t, "/info/?pub_key="+testPub+"&file_id=00000000-0000-4000-8000-000000000000", 404, "FileNotFoundError", "File is not found.")
}

// TestRESTThrottledAnswer pins the REST wording of a spent rate limit.
func TestRESTThrottledAnswer(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.RateLimit = 0.01; c.RateBurst = 1 })
	var code int
	var hdr http.Header
	var body string
	for i := 0; i < 3 && code != 429; i++ {
		code, hdr, body = rawREST(t, "GET", s.URL+"/project/", v7, "", "")
	}
	secs, err := strconv.Atoi(hdr.Get("Retry-After"))
	want := mustJSON(t, map[string]string{"detail": "Request was throttled. Expected available in " + hdr.Get("Retry-After") + " seconds."})
	if code != 429 || err != nil || secs <= 0 || body != want || hdr.Get("Content-Type") != v7 {
		t.Fatalf("throttled: %d %v %s, want %s", code, hdr, body, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}
