package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/server"
)

// TestJobsCarryRequestID: a from-URL upload asked for with X-Request-Id
// queues a fetch job whose log lines carry that id; the file it makes still
// counts as a from-URL upload.
func TestJobsCarryRequestID(t *testing.T) {
	logs := &logBuffer{}
	s := startServer(t, func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("fetched with a request id"))
	}))
	defer src.Close()
	form := url.Values{"pub_key": {testPub}, "source_url": {src.URL + "/a.txt"}}
	req, _ := http.NewRequest("POST", s.URL+"/from_url/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", "abc123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.Token == "" {
		t.Fatalf("from_url: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	var fetchLines []map[string]any
	for time.Now().Before(deadline) {
		fetchLines = fetchLines[:0]
		for _, rec := range logs.records(t, "job") {
			if rec["kind"] == "fetch" {
				fetchLines = append(fetchLines, rec)
			}
		}
		if len(fetchLines) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(fetchLines) == 0 {
		t.Fatalf("no fetch job log line:\n%s", logs.String())
	}
	for _, rec := range fetchLines {
		if rec["request_id"] != "abc123" {
			t.Errorf("fetch job line without the request id: %v", rec)
		}
	}
	if _, _, body := do(t, "GET", s.URL+"/from_url/status/?token="+tok.Token, nil, ""); !strings.Contains(body, `"success"`) {
		t.Fatalf("status: %s", body)
	}
	if n := value(scrape(t, s.URL+"/metrics", ""), "satchel_upload_files_total", map[string]string{"kind": "from_url"}); n != 1 {
		t.Errorf("from_url uploads counted %v, want 1", n)
	}
}
