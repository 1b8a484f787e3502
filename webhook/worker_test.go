package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/sqlstore"
	"github.com/satchel-project/satchel/webhook"
)

const secret = "s3cr3t"

func openStore(t *testing.T, dir string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "satchel.db"))
	if err != nil {
		t.Fatal(err)
	}
	// After the job clients the test starts have stopped (cleanups run
	// last first).
	t.Cleanup(func() { db.Close() })
	return db
}

func newProject(t *testing.T, s satchel.Store) *satchel.Project {
	t.Helper()
	p := &satchel.Project{Name: "p", PublicKey: uuid.NewString()[:20], SecretKey: "sk"}
	if err := s.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func subscribe(t *testing.T, s satchel.Store, p *satchel.Project, event, url string) *satchel.Webhook {
	t.Helper()
	w := &satchel.Webhook{ProjectID: p.ID, Event: event, TargetURL: url, IsActive: true, SigningSecret: secret, Version: "0.7"}
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// upload inserts n files with their file.uploaded events, as the app does.
func upload(t *testing.T, s satchel.Store, p *satchel.Project, n int) []*satchel.File {
	t.Helper()
	var files []*satchel.File
	var events []*satchel.Event
	for range n {
		now := time.Now().UTC()
		f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Size: 3, MimeType: "text/plain", OriginalFilename: "a.txt",
			Filename: "a.txt", IsReady: true, Uploaded: now, Stored: &now, Metadata: map[string]string{}, Tags: []string{}}
		f.BlobKey = f.UUID
		rid := uuid.NewString()
		files = append(files, f)
		events = append(events, app.FileEvent(f, satchel.EventFileUploaded, satchel.Initiator{Type: "api", RequestID: &rid}, nil))
	}
	if err := s.CreateFiles(context.Background(), files, events); err != nil {
		t.Fatal(err)
	}
	return files
}

// receiver is a webhook endpoint that checks what it receives.
type receiver struct {
	t *testing.T
	// mode: "up" (204), "down" (503), "hangup" (connection closed), "redirect".
	mode atomic.Value
	mu   sync.Mutex
	ok   map[string]int // successful receipts by delivery id
	hits int
	srv  *httptest.Server
}

func newReceiver(t *testing.T, mode string) *receiver {
	r := &receiver{t: t, ok: map[string]int{}}
	r.mode.Store(mode)
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("read body: %v", err)
		return
	}
	id := req.Header.Get(webhook.DeliveryIDHeader)
	switch {
	case req.Method != http.MethodPost, req.Header.Get("Content-Type") != "application/json", req.UserAgent() != "Satchel-Webhooks",
		req.Header.Get(webhook.EventHeader) != satchel.EventFileUploaded, id == "":
		r.t.Errorf("bad request: %s %v", req.Method, req.Header)
	case !webhook.Verify(secret, body, req.Header.Get("X-Uc-Signature")):
		r.t.Errorf("bad signature %q", req.Header.Get("X-Uc-Signature"))
	}
	var v struct {
		Hook struct {
			ID int64 `json:"id"`
		} `json:"hook"`
		Data struct {
			UUID string `json:"uuid"`
		} `json:"data"`
		File string `json:"file"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Data.UUID == "" ||
		id != fmt.Sprintf("%s:%d", strings.Split(id, ":")[0], v.Hook.ID) || v.File != "https://cdn.test/"+v.Data.UUID+"/a.txt" {
		r.t.Errorf("bad payload for %s: %s %v", id, body, err)
	}
	r.mu.Lock()
	r.hits++
	r.mu.Unlock()
	switch r.mode.Load().(string) {
	case "down":
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	case "hangup":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case "redirect":
		http.Redirect(w, req, "/elsewhere", http.StatusFound)
	default:
		r.mu.Lock()
		r.ok[id]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (r *receiver) stats() (ok map[string]int, hits int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok = make(map[string]int, len(r.ok))
	for k, v := range r.ok {
		ok[k] = v
	}
	return ok, r.hits
}

// fast are worker options for tests: short waits everywhere.
func fast() webhook.WorkerOptions {
	return webhook.WorkerOptions{Timeout: 2 * time.Second, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
}

// testPoll is how often the tests' job clients look for due retries.
const testPoll = 10 * time.Millisecond

var testBases = apiview.Bases{CDN: "https://cdn.test", API: "https://api.test"}

// start runs a worker (a job client working the webhook queue) until the
// test ends; the returned stop ends it early, letting attempts in flight
// finish.
func start(t *testing.T, s *sqlstore.DB, client *http.Client, opts webhook.WorkerOptions) (*webhook.Worker, func()) {
	t.Helper()
	return startPolling(t, s, client, opts, testPoll)
}

func startPolling(t *testing.T, s *sqlstore.DB, client *http.Client, opts webhook.WorkerOptions, poll time.Duration) (*webhook.Worker, func()) {
	t.Helper()
	if client == nil {
		client = fetch.New(fetch.Options{AllowPrivate: true}).HTTPClient()
	}
	w := webhook.NewWorker(s, s.JobsDB(), client, testBases, nil, opts)
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	jc, err := jobs.New(context.Background(), jobs.Config{DB: s.JobsDB(), Workers: workers,
		Queues: map[string]int{jobs.QueueWebhook: w.Options().Concurrency}, FetchPollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := jc.Stop(ctx); err != nil {
				t.Errorf("stop jobs: %v", err)
			}
			jc.Close()
		})
	}
	t.Cleanup(stop)
	return w, stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func deliveries(t *testing.T, s satchel.Store, p *satchel.Project) []*satchel.Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), p.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func allStatus(t *testing.T, s satchel.Store, p *satchel.Project, n int, status string) func() bool {
	return func() bool {
		ds := deliveries(t, s, p)
		if len(ds) != n {
			return false
		}
		for _, d := range ds {
			if d.Status != status {
				return false
			}
		}
		return true
	}
}

func TestWorkerDelivers(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "up")
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL+"/a")
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL+"/b")
	subscribe(t, s, p, satchel.EventFileStored, rcv.srv.URL+"/a") // no stored events here
	upload(t, s, p, 5)
	start(t, s, nil, fast())
	upload(t, s, p, 5)
	eventually(t, "20 deliveries delivered", allStatus(t, s, p, 20, satchel.DeliveryDelivered))
	time.Sleep(100 * time.Millisecond) // ten polls: nothing is sent twice
	ok, hits := rcv.stats()
	if len(ok) != 20 || hits != 20 {
		t.Fatalf("receiver got %d distinct deliveries in %d requests, want 20 in 20", len(ok), hits)
	}
	for _, d := range deliveries(t, s, p) {
		if ok[d.ID] != 1 || d.Attempts != 1 || d.LastStatus != http.StatusNoContent || d.LastError != "" {
			t.Fatalf("delivery %+v received %d times", d, ok[d.ID])
		}
	}
}

func TestWorkerRetriesUntilReceiverIsBack(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "down")
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL)
	upload(t, s, p, 3)
	opts := fast()
	opts.MaxAttempts = 50 // many fast retries before the receiver is back
	start(t, s, nil, opts)
	failedTwice := func(status int, errPart string) func() bool {
		return func() bool {
			ds := deliveries(t, s, p)
			for _, d := range ds {
				if d.Status != satchel.DeliveryPending || d.Attempts < 2 || d.LastStatus != status || !strings.Contains(d.LastError, errPart) {
					return false
				}
			}
			return len(ds) == 3
		}
	}
	eventually(t, "retries against a 503", failedTwice(503, "HTTP 503"))
	if ds := deliveries(t, s, p); !strings.Contains(ds[0].LastResponse, "maintenance") {
		t.Fatalf("response not recorded: %+v", ds[0])
	}
	rcv.mode.Store("hangup")
	_, hits := rcv.stats()
	eventually(t, "retries against a closed connection", func() bool {
		_, h := rcv.stats()
		return h >= hits+6 && failedTwice(0, "")()
	})
	rcv.mode.Store("up")
	eventually(t, "delivery once the receiver is back", allStatus(t, s, p, 3, satchel.DeliveryDelivered))
	ok, _ := rcv.stats()
	for _, d := range deliveries(t, s, p) {
		if ok[d.ID] != 1 || d.Attempts < 3 || d.LastStatus != http.StatusNoContent || d.LastError != "" {
			t.Fatalf("delivery %+v received %d times", d, ok[d.ID])
		}
	}
}

func TestWorkerGivesUp(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "redirect")
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL)
	upload(t, s, p, 2)
	opts := fast()
	opts.MaxAttempts = 3
	start(t, s, nil, opts)
	eventually(t, "failed deliveries", allStatus(t, s, p, 2, satchel.DeliveryFailed))
	for _, d := range deliveries(t, s, p) {
		if d.Attempts != 3 || d.LastStatus != http.StatusFound || !strings.Contains(d.LastError, "redirects are not followed") {
			t.Fatalf("failed delivery: %+v", d)
		}
	}
	if _, hits := rcv.stats(); hits != 6 {
		t.Fatalf("%d requests, want 6 (redirects must not be followed)", hits)
	}
}

// TestWorkerRestart stops a worker while deliveries are pending, reopens the
// data directory as a restarted Satchel would, and checks a new worker
// delivers everything.
func TestWorkerRestart(t *testing.T) {
	dir := t.TempDir()
	s1 := openStore(t, dir)
	rcv := newReceiver(t, "down")
	p := newProject(t, s1)
	subscribe(t, s1, p, satchel.EventFileUploaded, rcv.srv.URL)
	upload(t, s1, p, 4)
	_, stop := start(t, s1, nil, fast())
	eventually(t, "failed attempts", func() bool {
		_, hits := rcv.stats()
		return hits >= 4
	})
	stop()
	upload(t, s1, p, 2) // written while no worker runs
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, dir)
	if ds := deliveries(t, s2, p); len(ds) != 6 {
		t.Fatalf("%d deliveries after reopening, want 6", len(ds))
	}
	rcv.mode.Store("up")
	start(t, s2, nil, fast())
	eventually(t, "delivery after restart", allStatus(t, s2, p, 6, satchel.DeliveryDelivered))
	ok, _ := rcv.stats()
	if len(ok) != 6 {
		t.Fatalf("receiver got %d distinct deliveries, want 6", len(ok))
	}
	for id, n := range ok {
		if n != 1 {
			t.Fatalf("delivery %s received %d times", id, n)
		}
	}
}

func TestWorkerRefusesPrivateAddress(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "up")
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL) // 127.0.0.1
	upload(t, s, p, 1)
	opts := fast()
	opts.MaxAttempts = 2
	start(t, s, fetch.New(fetch.Options{}).HTTPClient(), opts)
	eventually(t, "refused delivery", allStatus(t, s, p, 1, satchel.DeliveryFailed))
	d := deliveries(t, s, p)[0]
	if d.Attempts != 2 || d.LastStatus != 0 || !strings.Contains(d.LastError, fetch.CodeURLHostPrivateIPForbidden) {
		t.Fatalf("refused delivery: %+v", d)
	}
	if _, hits := rcv.stats(); hits != 0 {
		t.Fatalf("private receiver reached %d times", hits)
	}
}

// A nil client is the default, public-only fetch client.
func TestWorkerDefaultClientIsPublicOnly(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "up")
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL)
	upload(t, s, p, 1)
	opts := fast()
	opts.MaxAttempts = 1
	w := webhook.NewWorker(s, s.JobsDB(), nil, testBases, nil, opts)
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	jc, err := jobs.New(context.Background(), jobs.Config{DB: s.JobsDB(), Workers: workers, Queues: map[string]int{jobs.QueueWebhook: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "refused delivery", allStatus(t, s, p, 1, satchel.DeliveryFailed))
	if err := jc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	jc.Close()
	if d := deliveries(t, s, p)[0]; !strings.Contains(d.LastError, fetch.CodeURLHostPrivateIPForbidden) {
		t.Fatalf("refused delivery: %+v", d)
	}
}

func TestWorkerDropsInactiveSubscription(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "up")
	p := newProject(t, s)
	w := subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL)
	upload(t, s, p, 1)
	w.IsActive = false
	if err := s.UpdateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	start(t, s, nil, fast())
	eventually(t, "dropped delivery", allStatus(t, s, p, 1, satchel.DeliveryFailed))
	if d := deliveries(t, s, p)[0]; d.LastError != "subscription inactive" {
		t.Fatalf("dropped delivery: %+v", d)
	}
	if _, hits := rcv.stats(); hits != 0 {
		t.Fatalf("inactive subscription called %d times", hits)
	}
}

// TestInsertWakesWorker checks that an event's delivery goes out at once
// although the worker polls only every minute: the job's insertion, in
// the event's transaction, wakes the idle worker.
func TestInsertWakesWorker(t *testing.T) {
	s := openStore(t, t.TempDir())
	rcv := newReceiver(t, "up")
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, rcv.srv.URL)
	startPolling(t, s, nil, fast(), time.Minute)
	time.Sleep(200 * time.Millisecond) // the worker's first look finds nothing
	upload(t, s, p, 1)
	eventually(t, "woken delivery", allStatus(t, s, p, 1, satchel.DeliveryDelivered))
	// River wakes workers at most once per fetch cooldown (100 ms) per queue.
	time.Sleep(300 * time.Millisecond)
	upload(t, s, p, 1)
	eventually(t, "second woken delivery", allStatus(t, s, p, 2, satchel.DeliveryDelivered))
}

// hangingReceiver is a webhook endpoint that never answers until the test
// ends; it counts the requests it is holding.
func hangingReceiver(t *testing.T) (srv *httptest.Server, holding func() int) {
	release := make(chan struct{})
	var n atomic.Int32
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		defer n.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets srv.Close return
	return srv, func() int { return int(n.Load()) }
}

// TestWorkerFairAcrossProjects checks that a project whose receiver hangs
// holds at most PerProject workers: another project's delivery goes out at
// once, while the first project's are still stuck.
func TestWorkerFairAcrossProjects(t *testing.T) {
	s := openStore(t, t.TempDir())
	hang, holding := hangingReceiver(t)
	rcv := newReceiver(t, "up")
	a, b := newProject(t, s), newProject(t, s)
	subscribe(t, s, a, satchel.EventFileUploaded, hang.URL)
	subscribe(t, s, b, satchel.EventFileUploaded, rcv.srv.URL)
	upload(t, s, a, 10)
	opts := fast()
	opts.Concurrency, opts.PerProject, opts.Timeout = 4, 2, time.Minute
	start(t, s, nil, opts)
	t.Cleanup(hang.CloseClientConnections) // before the worker stops: its attempts end now
	eventually(t, "project a's deliveries to reach the hanging receiver", func() bool { return holding() > 0 })
	upload(t, s, b, 1)
	eventually(t, "project b's delivery", allStatus(t, s, b, 1, satchel.DeliveryDelivered))
	eventually(t, "two requests at the hanging receiver", func() bool { return holding() >= 2 })
	if n := holding(); n != 2 {
		t.Fatalf("the hanging receiver holds %d requests, want 2 (the per-project cap)", n)
	}
	for _, d := range deliveries(t, s, a) {
		if d.Status != satchel.DeliveryPending || d.LastStatus != 0 || d.LastError != "" {
			t.Fatalf("project a's delivery finished meanwhile: %+v", d)
		}
	}
}

// TestWorkerTimeout checks that an attempt on a receiver that never answers
// ends after Timeout and is retried.
func TestWorkerTimeout(t *testing.T) {
	s := openStore(t, t.TempDir())
	hang, _ := hangingReceiver(t)
	p := newProject(t, s)
	subscribe(t, s, p, satchel.EventFileUploaded, hang.URL)
	upload(t, s, p, 1)
	opts := fast()
	opts.Timeout = 300 * time.Millisecond
	start(t, s, nil, opts)
	eventually(t, "timed-out attempts", func() bool {
		ds := deliveries(t, s, p)
		return len(ds) == 1 && ds[0].Attempts >= 2 && ds[0].Status == satchel.DeliveryPending
	})
	if d := deliveries(t, s, p)[0]; d.LastError != "timed out after 300ms" || d.LastStatus != 0 {
		t.Fatalf("timed-out delivery: %+v", d)
	}
}
