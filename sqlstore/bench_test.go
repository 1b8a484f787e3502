package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/sqlstore"
)

// The statement cost of the metadata hot paths. Each benchmark runs on
// SQLite on disk (synchronous=FULL: every commit pays its fsync), SQLite
// in /dev/shm (the same work without the fsync, so the statements' own cost
// shows) and PostgreSQL when SATCHEL_TEST_DATABASE_URL is set:
//
//	go test -run '^$' -bench . -count 6 ./sqlstore/ | tee new.txt
//	benchstat old.txt new.txt
//
// Besides the time, each reports cpu-ns/op: the CPU time (user + system) the
// process spent per operation, which a machine shared with other work
// disturbs much less than the elapsed time (PostgreSQL's own work is not in
// it).

type benchStore struct {
	name string
	open func(b *testing.B) *sqlstore.DB
}

func benchStores() []benchStore {
	sqliteIn := func(dir func(b *testing.B) string) func(b *testing.B) *sqlstore.DB {
		return func(b *testing.B) *sqlstore.DB {
			db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir(b), "s.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}
	}
	stores := []benchStore{{"sqlite", sqliteIn(func(b *testing.B) string { return b.TempDir() })}}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		stores = append(stores, benchStore{"sqlite-shm", sqliteIn(func(b *testing.B) string {
			d, err := os.MkdirTemp("/dev/shm", "sqlstore-bench")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		})})
	}
	if testenv.HasPostgres() {
		stores = append(stores, benchStore{"postgres", func(b *testing.B) *sqlstore.DB {
			db, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresDSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}})
	}
	return stores
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp starts counting the process's CPU time; the function it returns
// reports it per operation. Call it after the setup, stop after the loop.
func cpuPerOp(b *testing.B) (stop func()) {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func benchProject(b *testing.B, db *sqlstore.DB) *satchel.Project {
	p := &satchel.Project{Name: "bench", PublicKey: "pub-" + uuid.NewString()[:8], SecretKey: "s", Autostore: true}
	if err := db.CreateProject(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	return p
}

// smallFile is the row of a small image upload, as the Upload API makes it.
func smallFile(projectID int64, t time.Time, size int64) *satchel.File {
	id := uuid.NewString()
	return &satchel.File{UUID: id, ProjectID: projectID, Size: size, MimeType: "image/jpeg", OriginalFilename: "photo.jpg", Filename: "photo.jpg",
		BlobKey: id, Checksum: "sha256:00", IsImage: true, IsReady: true, Uploaded: t, Stored: &t, Source: "local",
		Metadata: map[string]string{"subsystem": "bench"},
		ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/jpeg", Type: "image", Subtype: "jpeg"},
			Image: &satchel.ImageInfo{Width: 640, Height: 480, Format: "JPEG", ColorMode: "RGB"}}}
}

func fillFiles(b *testing.B, db *sqlstore.DB, projectID int64, n int) []string {
	ctx := context.Background()
	ids := make([]string, 0, n)
	start := time.Now().Add(-time.Hour).UTC()
	for len(ids) < n {
		batch := make([]*satchel.File, 0, 500)
		for i := 0; i < 500 && len(ids) < n; i++ {
			f := smallFile(projectID, start.Add(time.Duration(len(ids))*time.Millisecond), int64(1000+len(ids)%700))
			batch = append(batch, f)
			ids = append(ids, f.UUID)
		}
		if err := db.CreateFiles(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// BenchmarkCommitUpload commits one small upload: its file row, the
// project's counters and its file.uploaded event (no webhook subscribed).
func BenchmarkCommitUpload(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			db := s.open(b)
			p := benchProject(b, db)
			ctx := context.Background()
			now := time.Now().UTC()
			stop := cpuPerOp(b)
			for i := 0; b.Loop(); i++ {
				f := smallFile(p.ID, now.Add(time.Duration(i)*time.Microsecond), 1000)
				ev := &satchel.Event{ID: uuid.NewString(), ProjectID: p.ID, Type: "file.uploaded", Payload: []byte(`{}`)}
				if err := db.CreateFiles(ctx, []*satchel.File{f}, []*satchel.Event{ev}); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkStoreFile stores one file: read for update, update, counters.
func BenchmarkStoreFile(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			db := s.open(b)
			p := benchProject(b, db)
			ids := fillFiles(b, db, p.ID, 2000)
			ctx := context.Background()
			stop := cpuPerOp(b)
			for i := 0; b.Loop(); i++ {
				_, err := db.UpdateFile(ctx, p.ID, ids[i%len(ids)], func(f *satchel.File) ([]*satchel.Event, error) {
					t := time.Now().UTC()
					f.Stored = &t
					return nil, nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkGetFile reads one file by uuid.
func BenchmarkGetFile(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			db := s.open(b)
			p := benchProject(b, db)
			ids := fillFiles(b, db, p.ID, 2000)
			ctx := context.Background()
			stop := cpuPerOp(b)
			for i := 0; b.Loop(); i++ {
				if _, err := db.File(ctx, p.ID, ids[i*7919%len(ids)]); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkListPage reads a page of 100 files from a cursor, and the
// project's counters, as the REST list does.
func BenchmarkListPage(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			db := s.open(b)
			p := benchProject(b, db)
			fillFiles(b, db, p.ID, 5000)
			ctx := context.Background()
			all, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 5000})
			if err != nil || len(all) != 5000 {
				b.Fatalf("%d files, %v", len(all), err)
			}
			stop := cpuPerOp(b)
			for i := 0; b.Loop(); i++ {
				from := all[i*101%4800]
				page, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 100, FromTime: &from.Uploaded, FromUUID: from.UUID})
				if err != nil || len(page) != 100 {
					b.Fatalf("%d files, %v", len(page), err)
				}
				if _, err := db.FileCounts(ctx, p.ID); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}
