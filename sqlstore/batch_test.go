package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// TestGroupCommit checks that uploads arriving while a commit is under way
// are committed together in the next transaction, and that none of them is
// acknowledged before its transaction has committed. The writer connection
// is held by the test to stand for a commit in progress.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db, p := openTestSQLite(t)
	held, err := db.wdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const uploads = 32
	done := make(chan error, uploads)
	files := make([]*satchel.File, uploads)
	for i := range files {
		files[i] = newTestFile(p.ID)
	}
	// The first upload: the batcher takes it and waits for the connection.
	waits := db.wdb.Stats().WaitCount
	go func() { done <- db.CreateFiles(ctx, files[:1], nil) }()
	for db.wdb.Stats().WaitCount == waits {
		time.Sleep(time.Millisecond)
	}
	// The others queue behind it.
	for i := 1; i < uploads; i++ {
		go func() { done <- db.CreateFiles(ctx, files[i:i+1], nil) }()
	}
	for len(db.batch) < uploads-1 {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("an upload was acknowledged before any commit: %v", err)
	default:
	}
	before := db.batchCommits.Load()
	held.Close()
	for range uploads {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := db.batchCommits.Load() - before; n != 2 {
		t.Fatalf("%d uploads in %d transactions, want 2 (the first alone, then the rest together)", uploads, n)
	}
	for _, f := range files {
		if _, err := db.File(ctx, p.ID, f.UUID); err != nil {
			t.Fatalf("file %s: %v", f.UUID, err)
		}
	}
	if c, err := db.FileCounts(ctx, p.ID); err != nil || c.Unstored != uploads {
		t.Fatalf("counts %+v, %v", c, err)
	}
}
