package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// One project's slow sources and dead receivers must not hold up the other
// projects' from-URL uploads and webhook deliveries.

// hangingServer never answers until released; it counts the requests it
// holds. release must run before the Satchel node closes (whose webhook
// attempts are not cut short by shutdown).
func hangingServer(t *testing.T) (srv *httptest.Server, holding func() int, release func()) {
	t.Helper()
	done := make(chan struct{})
	var n atomic.Int32
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		defer n.Add(-1)
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	var closed atomic.Bool
	release = func() {
		if closed.CompareAndSwap(false, true) {
			close(done)
		}
	}
	return srv, func() int { return int(n.Load()) }, release
}

// secondProject adds a project besides the demo one.
func secondProject(t *testing.T, s *testServer) *satchel.Project {
	t.Helper()
	p := &satchel.Project{Name: "other", PublicKey: "otherpublickey", SecretKey: "othersecretkey"}
	if err := s.Store.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// within polls cond for up to 8 seconds.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fromURL(t *testing.T, s *testServer, pub, source string) string {
	t.Helper()
	code, body := postURLEncoded(t, s.URL+"/from_url/", url.Values{"pub_key": {pub}, "source_url": {source}})
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); code != 200 || err != nil || tok.Token == "" {
		t.Fatalf("from_url %s: %d %q", source, code, body)
	}
	return tok.Token
}

func fetchStatus(t *testing.T, s *testServer, token string) string {
	t.Helper()
	_, _, body := do(t, "GET", s.URL+"/from_url/status/?token="+token, nil, "")
	var st struct{ Status string }
	json.Unmarshal([]byte(body), &st)
	return st.Status
}

// TestFromURLFairAcrossProjects: the demo project queues many downloads from
// a source that never answers; another project's download completes anyway,
// and the slow source holds no more than the per-project cap of workers.
func TestFromURLFairAcrossProjects(t *testing.T) {
	slow, holding, release := hangingServer(t)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello from the fast source")
	}))
	defer fast.Close()
	s := startServer(t, nil) // 4 fetch workers, 2 per project
	t.Cleanup(release)
	other := secondProject(t, s)

	var stuck []string
	for i := range 8 {
		stuck = append(stuck, fromURL(t, s, testPub, fmt.Sprintf("%s/slow/%d.txt", slow.URL, i)))
	}
	within(t, "downloads from the slow source", func() bool { return holding() > 0 })
	tok := fromURL(t, s, other.PublicKey, fast.URL+"/a.txt")
	within(t, "the other project's download", func() bool { return fetchStatus(t, s, tok) == "success" })

	within(t, "two downloads from the slow source", func() bool { return holding() >= 2 })
	if n := holding(); n != 2 {
		t.Fatalf("the slow source holds %d downloads, want 2 (the per-project cap)", n)
	}
	for _, st := range stuck {
		if got := fetchStatus(t, s, st); got != "waiting" && got != "progress" {
			t.Fatalf("download from the slow source: status %q", got)
		}
	}
}

// restAs sends a REST API v0.7 request with a project's simple auth.
func restAs(t *testing.T, p *satchel.Project, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Uploadcare.Simple "+p.PublicKey+":"+p.SecretKey)
	req.Header.Set("Accept", v7)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebhookFairAcrossProjects: the demo project's receiver never answers
// and it has many deliveries queued; another project's delivery arrives
// anyway, while the demo project's are still stuck.
func TestWebhookFairAcrossProjects(t *testing.T) {
	dead, holding, release := hangingServer(t)
	rc := &receiver{t: t, secret: "whsecret", ids: map[string]int{}}
	live := httptest.NewServer(rc)
	defer live.Close()
	s := startServer(t, nil) // 4 webhook workers, 2 per project
	t.Cleanup(release)
	other := secondProject(t, s)
	demo, err := s.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil {
		t.Fatal(err)
	}

	if code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json", `{"target_url":"`+dead.URL+`/hook","event":"file.uploaded"}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	if code, body := restAs(t, other, "POST", s.URL+"/webhooks/", `{"target_url":"`+live.URL+`/hook","event":"file.uploaded","signing_secret":"whsecret"}`); code != 201 {
		t.Fatalf("subscribe other project: %d %s", code, body)
	}
	uploadN(t, s.URL, 10, "0")
	within(t, "deliveries to the dead receiver", func() bool { return holding() > 0 })
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", other.PublicKey}}, file(10))
	if code != 200 {
		t.Fatalf("upload to the other project: %d %s", code, body)
	}
	within(t, "the other project's delivery", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.events) == 1
	})
	rc.mu.Lock()
	bad := rc.bad
	rc.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries with a bad signature", bad)
	}

	within(t, "two deliveries to the dead receiver", func() bool { return holding() >= 2 })
	if n := holding(); n != 2 {
		t.Fatalf("the dead receiver holds %d deliveries, want 2 (the per-project cap)", n)
	}
	ds, err := s.Store.Deliveries(context.Background(), demo.ID, 100)
	if err != nil || len(ds) != 10 {
		t.Fatalf("demo project deliveries: %d %v", len(ds), err)
	}
	for _, d := range ds {
		if d.Status != satchel.DeliveryPending || d.LastError != "" {
			t.Fatalf("a delivery to the dead receiver finished meanwhile: %+v", d)
		}
	}
}

// TestWebhookTimeoutSetting: WebhookTimeout bounds an attempt on a receiver
// that never answers.
func TestWebhookTimeoutSetting(t *testing.T) {
	dead, _, release := hangingServer(t)
	s := startServer(t, func(c *server.Config) { c.WebhookTimeout = 300 * time.Millisecond })
	t.Cleanup(release)
	demo, err := s.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json", `{"target_url":"`+dead.URL+`/hook","event":"file.uploaded"}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	uploadN(t, s.URL, 1, "0")
	within(t, "a timed-out attempt", func() bool {
		ds, err := s.Store.Deliveries(context.Background(), demo.ID, 10)
		return err == nil && len(ds) == 1 && ds[0].LastError != ""
	})
	ds, _ := s.Store.Deliveries(context.Background(), demo.ID, 10)
	if d := ds[0]; d.LastError != "timed out after 300ms" || d.Status != satchel.DeliveryPending || d.Attempts != 1 {
		t.Fatalf("timed-out delivery: %+v", d)
	}
}
