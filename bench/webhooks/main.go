// Command webhooks measures webhook deliveries per second through the job
// system: it queues N file.uploaded events (each with one delivery job,
// inserted in the event's transaction, as uploads do) and times how long the
// webhook workers take to deliver them all to a local receiver.
//
//	go run ./bench/webhooks                              # SQLite in a temporary directory
//	go run ./bench/webhooks -database-url "$SATCHEL_TEST_DATABASE_URL"   # PostgreSQL, in a new schema
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/sqlstore"
	"github.com/satchel-project/satchel/webhook"
)

func main() {
	n := flag.Int("n", 2000, "deliveries")
	batch := flag.Int("batch", 50, "events per transaction")
	workers := flag.Int("workers", 16, "webhook workers")
	projects := flag.Int("projects", 4, "projects the events are spread over")
	dsn := flag.String("database-url", "", "PostgreSQL URL (a new schema is used and dropped); empty: SQLite")
	flag.Parse()
	ctx := context.Background()

	var store *sqlstore.DB
	var err error
	if *dsn == "" {
		dir, _ := os.MkdirTemp("", "satchel-bench-webhooks")
		defer os.RemoveAll(dir)
		store, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "satchel.db"))
	} else {
		schema := "bench_webhooks_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		admin, aerr := sql.Open("pgx", *dsn)
		if aerr != nil {
			log.Fatal(aerr)
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			log.Fatal(err)
		}
		defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		sep := "?"
		if strings.Contains(*dsn, "?") {
			sep = "&"
		}
		store, err = sqlstore.OpenPostgres(ctx, *dsn+sep+"search_path="+schema)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	var got atomic.Int64
	done := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == int64(*n) {
			close(done)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	var ps []*satchel.Project
	for i := range *projects {
		p := &satchel.Project{Name: fmt.Sprint("p", i), PublicKey: uuid.NewString()[:20], SecretKey: "sk"}
		if err := store.CreateProject(ctx, p); err != nil {
			log.Fatal(err)
		}
		w := &satchel.Webhook{ProjectID: p.ID, Event: satchel.EventFileUploaded, TargetURL: rcv.URL, IsActive: true, SigningSecret: "s", Version: "0.7"}
		if err := store.CreateWebhook(ctx, w); err != nil {
			log.Fatal(err)
		}
		ps = append(ps, p)
	}
	client := fetch.New(fetch.Options{AllowPrivate: true}).HTTPClient()
	wk := webhook.NewWorker(store, store.JobsDB(), client, apiview.Bases{CDN: "http://cdn", API: "http://api"}, nil,
		webhook.WorkerOptions{Concurrency: *workers, PerProject: *workers})
	ws := river.NewWorkers()
	river.AddWorker(ws, wk)
	jc, err := jobs.New(ctx, jobs.Config{DB: store.JobsDB(), Workers: ws, Queues: map[string]int{jobs.QueueWebhook: *workers}})
	if err != nil {
		log.Fatal(err)
	}

	// Queue everything first, then time the workers alone.
	began := time.Now()
	for i := 0; i < *n; i += *batch {
		var files []*satchel.File
		var events []*satchel.Event
		for j := i; j < min(i+*batch, *n); j++ {
			p := ps[j%len(ps)]
			now := time.Now().UTC()
			f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Size: 3, MimeType: "text/plain", OriginalFilename: "a.txt",
				Filename: "a.txt", IsReady: true, Uploaded: now, Stored: &now, Metadata: map[string]string{}, Tags: []string{}}
			f.BlobKey = f.UUID
			files = append(files, f)
			events = append(events, app.FileEvent(f, satchel.EventFileUploaded, satchel.Initiator{Type: "api"}, nil))
		}
		if err := store.CreateFiles(ctx, files, events); err != nil {
			log.Fatal(err)
		}
	}
	queued := time.Since(began)
	began = time.Now()
	if err := jc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		log.Fatalf("only %d of %d deliveries after 10 minutes", got.Load(), *n)
	}
	took := time.Since(began)
	db := "sqlite"
	if *dsn != "" {
		db = "postgres"
	}
	fmt.Printf("%s: %d deliveries (%d workers, %d projects) queued in %v (%.0f/s), delivered in %v: %.0f deliveries/s\n",
		db, *n, *workers, *projects, queued.Round(time.Millisecond), float64(*n)/queued.Seconds(), took.Round(time.Millisecond), float64(*n)/took.Seconds())
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	jc.Stop(sctx)
	jc.Close()
}
