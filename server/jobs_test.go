package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/server"
)

// blobGone reports whether the bucket no longer has key.
func blobGone(t *testing.T, b blobstore.Bucket, key string) bool {
	t.Helper()
	r, err := b.Open(context.Background(), key)
	if err == nil {
		r.Close()
		return false
	}
	if !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("open blob %s: %v", key, err)
	}
	return true
}

// TestDeleteCollectsBlob: deleting a file (REST) removes its bytes from
// the bucket (local disk, or S3 with SATCHEL_TEST_S3_URL), through the
// removal job queued with the delete.
func TestDeleteCollectsBlob(t *testing.T) {
	s := startServer(t, nil)
	ids := uploadN(t, s.URL, 2, "1")
	for _, id := range ids {
		if gone := blobGone(t, s.Bucket, id); gone {
			t.Fatalf("blob %s missing before the delete", id)
		}
	}
	if code, _, body := rawREST(t, "DELETE", s.URL+"/files/"+ids[0]+"/storage/", v7, "", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	within(t, "the deleted file's bytes to go", func() bool { return blobGone(t, s.Bucket, ids[0]) })
	if blobGone(t, s.Bucket, ids[1]) {
		t.Fatal("the other file's bytes went too")
	}
	// One removal job, completed.
	within(t, "the removal job to complete", func() bool {
		js, err := s.Jobs.List(context.Background(), nil, []string{jobs.KindRemoveBlob}, 10)
		if err != nil || len(js) != 1 {
			t.Fatalf("removal jobs: %v %v", js, err)
		}
		return js[0].State == rivertype.JobStateCompleted
	})
}

// TestDeleteSurvivesCrash: a node dies between committing a delete and
// removing the bytes (here its job workers are stopped before the delete,
// and it stops uncleanly). The removal was queued in the delete's
// transaction, so the next node to start removes the bytes: no orphan.
func TestDeleteSurvivesCrash(t *testing.T) {
	var first server.Config
	s := startServer(t, func(c *server.Config) { first = *c })
	ids := uploadN(t, s.URL, 1, "1")
	if err := s.Jobs.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _, body := rawREST(t, "DELETE", s.URL+"/files/"+ids[0]+"/storage/", v7, "", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	time.Sleep(200 * time.Millisecond)
	if blobGone(t, s.Bucket, ids[0]) {
		t.Fatal("bytes removed although no worker runs")
	}
	f, err := s.Store.File(context.Background(), 0, ids[0])
	if err != nil || f.Removed == nil {
		t.Fatalf("file after delete: %+v %v", f, err)
	}
	s.ts.Close()
	s.Close()

	s2 := startServer(t, func(c *server.Config) {
		c.DataDir, c.DatabaseURL, c.StorageURL = first.DataDir, first.DatabaseURL, first.StorageURL
	})
	within(t, "the next node to remove the bytes", func() bool { return blobGone(t, s2.Bucket, ids[0]) })
}

// TestRetention: the retention job forgets webhook events and finished
// deliveries past the retention period and keeps recent ones; it is
// registered as a periodic job, run at start.
func TestRetention(t *testing.T) {
	rc := &receiver{t: t, secret: "whsecret", ids: map[string]int{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	live := srv.URL
	s := startServer(t, func(c *server.Config) { c.Retention = time.Hour })
	if code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json", `{"target_url":"`+live+`/hook","event":"file.uploaded","signing_secret":"whsecret"}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	uploadN(t, s.URL, 2, "1")
	demo, err := s.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil {
		t.Fatal(err)
	}
	delivered := func() []*satchel.Delivery {
		ds, err := s.Store.Deliveries(context.Background(), demo.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	within(t, "two deliveries", func() bool {
		ds := delivered()
		return len(ds) == 2 && ds[0].Status == satchel.DeliveryDelivered && ds[1].Status == satchel.DeliveryDelivered
	})
	within(t, "the retention job to run at start", func() bool {
		js, err := s.Jobs.List(context.Background(), []rivertype.JobState{rivertype.JobStateCompleted}, []string{jobs.KindRetention}, 10)
		return err == nil && len(js) > 0
	})
	// Now: everything is recent and stays.
	if err := s.App.Retain(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	ds := delivered()
	if len(ds) != 2 {
		t.Fatalf("recent deliveries pruned: %d left", len(ds))
	}
	// Past the retention period, deliveries and their events go.
	if err := s.App.Retain(context.Background(), time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ds := delivered(); len(ds) != 0 {
		t.Fatalf("%d old deliveries kept", len(ds))
	}
	if _, err := s.Store.Event(context.Background(), ds[0].EventID); !satchel.IsNotFound(err) {
		t.Fatalf("old event kept: %v", err)
	}
}

// TestDrainReleasesRunningJobs: at shutdown the workers take no more jobs,
// and a download still running at the drain deadline is cancelled and put
// back in the queue, where the next node to start finishes it.
func TestDrainReleasesRunningJobs(t *testing.T) {
	var gets atomic.Int32
	release := make(chan struct{})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if gets.Add(1) == 1 {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("hello"))
			w.(http.Flusher).Flush()
			select { // the rest never comes while the first node runs
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Write([]byte("hello, all"))
	}))
	defer src.Close()
	defer close(release)
	var first server.Config
	s := startServer(t, func(c *server.Config) { first = *c })
	tok := fromURL(t, s, testPub, src.URL+"/a.txt")
	within(t, "the download to start", func() bool { return gets.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	s.Drain(ctx)
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("drain took %v with a 1s deadline", d)
	}
	js, err := s.Jobs.List(context.Background(), nil, []string{jobs.KindFetch}, 10)
	if err != nil || len(js) != 1 || js[0].State == rivertype.JobStateRunning || js[0].State == rivertype.JobStateCompleted {
		t.Fatalf("fetch job after the drain: %+v %v", js, err)
	}
	s.ts.Close()
	s.Close()

	s2 := startServer(t, func(c *server.Config) {
		c.DataDir, c.DatabaseURL, c.StorageURL = first.DataDir, first.DatabaseURL, first.StorageURL
	})
	within(t, "the next node to finish the download", func() bool { return fetchStatus(t, s2, tok) == "success" })
	if n := gets.Load(); n != 2 {
		t.Fatalf("the source was requested %d times, want 2", n)
	}
}
