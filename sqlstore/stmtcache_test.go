package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
)

func openTestSQLite(t *testing.T) (*DB, *satchel.Project) {
	t.Helper()
	ctx := context.Background()
	db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := &satchel.Project{Name: "p", PublicKey: "pub", SecretKey: "sec"}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	return db, p
}

func newTestFile(projectID int64) *satchel.File {
	id := uuid.NewString()
	return &satchel.File{UUID: id, ProjectID: projectID, Size: 10, MimeType: "text/plain", OriginalFilename: "a.txt", Filename: "a.txt",
		BlobKey: id, Checksum: "c", IsReady: true, Uploaded: time.Now().UTC()}
}

// dropConns closes n connections of pool (idle ones first, then new ones),
// as a connection found broken is: the pool opens fresh ones after.
func dropConns(pool *sql.DB, n int) error {
	ctx := context.Background()
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Raw(func(any) error { return driver.ErrBadConn })
			c.Close()
		}
	}()
	for range n {
		c, err := pool.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// TestStmtCacheReconnect checks that the hot statements are prepared, used in
// transactions and outside them, and keep working on new connections once
// the old ones are gone.
func TestStmtCacheReconnect(t *testing.T) {
	ctx := context.Background()
	db, p := openTestSQLite(t)
	upload := func() *satchel.File {
		t.Helper()
		f := newTestFile(p.ID)
		ev := &satchel.Event{ID: uuid.NewString(), ProjectID: p.ID, Type: "file.uploaded", Payload: []byte(`{}`)}
		if err := db.CreateFiles(ctx, []*satchel.File{f}, []*satchel.Event{ev}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	roundTrip := func(f *satchel.File) {
		t.Helper()
		got, err := db.File(ctx, p.ID, f.UUID)
		if err != nil || got.UUID != f.UUID {
			t.Fatalf("File: %v, %v", got, err)
		}
		if _, err := db.UpdateFile(ctx, p.ID, f.UUID, func(f *satchel.File) ([]*satchel.Event, error) {
			now := time.Now().UTC()
			f.Stored = &now
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 100})
		if err != nil || len(list) == 0 {
			t.Fatalf("ListFiles: %d, %v", len(list), err)
		}
	}

	// The first transaction runs its statements as text and prepares them
	// once it is over; the second uses them.
	f := upload()
	if db.wsc.size() == 0 {
		t.Fatal("no statement prepared after a transaction")
	}
	hits := db.wsc.hits.Load()
	upload()
	if db.wsc.hits.Load() == hits {
		t.Fatal("the second upload's transaction used no prepared statement")
	}
	roundTrip(f)
	wn, rn := db.wsc.size(), db.rsc.size()
	if rn == 0 {
		t.Fatal("no read statement prepared")
	}

	for round := range 3 {
		if err := errors.Join(dropConns(db.wdb, 1), dropConns(db.rdb, 8)); err != nil {
			t.Fatal(err)
		}
		wh, rh := db.wsc.hits.Load(), db.rsc.hits.Load()
		f := upload()
		roundTrip(f)
		if db.wsc.hits.Load() == wh || db.rsc.hits.Load() == rh {
			t.Fatalf("round %d: prepared statements unused after reconnecting", round)
		}
		// Nothing is prepared twice: the pool's statements are the same,
		// prepared again on the new connections by database/sql.
		if db.wsc.size() != wn || db.rsc.size() != rn {
			t.Fatalf("round %d: %d/%d statements, had %d/%d", round, db.wsc.size(), db.rsc.size(), wn, rn)
		}
	}
	c, err := db.FileCounts(ctx, p.ID)
	if err != nil || c.Stored != 4 || c.Unstored != 1 {
		t.Fatalf("counts %+v, %v", c, err)
	}
}

// TestStmtCacheConcurrent runs uploads, updates and reads from many
// goroutines while connections are dropped (run it with -race): every
// write lands once and the counters add up.
func TestStmtCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	db, p := openTestSQLite(t)
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	stop := make(chan struct{})
	var dropper sync.WaitGroup
	dropper.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				if err := errors.Join(dropConns(db.rdb, 2), dropConns(db.wdb, 1)); err != nil {
					errs <- err
					return
				}
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				f := newTestFile(p.ID)
				if err := db.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
					errs <- fmt.Errorf("worker %d upload %d: %w", w, i, err)
					return
				}
				if i%2 == 0 {
					if _, err := db.UpdateFile(ctx, p.ID, f.UUID, func(f *satchel.File) ([]*satchel.Event, error) {
						now := time.Now().UTC()
						f.Stored = &now
						return nil, nil
					}); err != nil {
						errs <- fmt.Errorf("worker %d store %d: %w", w, i, err)
						return
					}
				}
				if got, err := db.File(ctx, p.ID, f.UUID); err != nil || got.UUID != f.UUID {
					errs <- fmt.Errorf("worker %d get %d: %v", w, i, err)
					return
				}
				if _, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 10, Desc: true}); err != nil {
					errs <- fmt.Errorf("worker %d list %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	dropper.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := db.FileCounts(ctx, p.ID)
	stored := int64(workers * ((perWorker + 1) / 2))
	if err != nil || c.Stored != stored || c.Unstored != workers*perWorker-stored {
		t.Fatalf("counts %+v, %v; want %d stored of %d", c, err, stored, workers*perWorker)
	}
	all, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 1000})
	if err != nil || len(all) != workers*perWorker {
		t.Fatalf("%d files listed, %v", len(all), err)
	}
}

// TestPostgresStatementCache checks that pgx prepares and keeps the store's
// statements per connection on its own (default_query_exec_mode
// cache_statement), which is why the store prepares none on PostgreSQL.
func TestPostgresStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.wsc != nil || db.rsc != nil {
		t.Fatal("statement cache on PostgreSQL")
	}
	conn, err := db.rdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	e := execer{pg: true}
	query := e.q(`SELECT stored, unstored, removed FROM project_counters WHERE project_id=?`)
	for range 2 {
		var s, u, r int64
		if err := conn.QueryRowContext(ctx, query, 1).Scan(&s, &u, &r); err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement = $1`, query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d prepared statements of %q on the connection, want 1", n, query)
	}
}
