package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/sqlstore"
)

// forEachDB runs fn on SQLite and, when configured, on PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
}

func newSession(t *testing.T, db *sqlstore.DB, id string) {
	t.Helper()
	now := time.Now().UTC()
	err := db.CreateUploadSession(context.Background(), &satchel.UploadSession{
		UUID: id, ProjectID: 1, Size: 12_000_000, PartSize: 5242880, ContentType: "x/y",
		OriginalFilename: "f", Store: "auto", Created: now, Expires: now.Add(time.Hour), Upload: "up-" + id,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Parts being written do not count, a write superseded by another one of
// the same part cannot record it, and a fenced session takes no part changes.
func TestPartWriteFencing(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		const id = "11111111-2222-4333-8444-555555555555"
		newSession(t, db, id)
		parts := func() map[int]satchel.PartRecord {
			t.Helper()
			p, err := db.Parts(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}

		if prev, claimed, err := db.ClaimPart(ctx, id, 1, "w1"); err != nil || !claimed || prev != "" {
			t.Fatalf("claim a new part: %q %v %v", prev, claimed, err)
		}
		if len(parts()) != 0 {
			t.Fatal("a part being written counts")
		}
		if err := db.FenceUploadSession(ctx, id); !errors.Is(err, satchel.ErrConflict) {
			t.Fatalf("fence while a part is written: %v", err)
		}
		if err := db.CheckPart(ctx, id, 1, "w1"); err != nil {
			t.Fatalf("check own mark: %v", err)
		}
		if err := db.FinishPart(ctx, id, 1, "w1", 5242880, "c1", "t1"); err != nil {
			t.Fatal(err)
		}
		if p := parts(); p[1].Checksum != "c1" || p[1].Writer != "w1" || p[1].Tag != "t1" {
			t.Fatalf("parts: %v", p)
		}
		// A part sent again: the old record counts until the new one begins.
		if prev, claimed, err := db.ClaimPart(ctx, id, 1, "w2"); err != nil || claimed || prev != "w1" {
			t.Fatalf("claim a received part: %q %v %v", prev, claimed, err)
		}
		if len(parts()) != 1 {
			t.Fatal("claiming a received part dropped it")
		}
		if err := db.BeginPart(ctx, id, 1, "w2"); err != nil {
			t.Fatal(err)
		}
		if len(parts()) != 0 {
			t.Fatal("a part being rewritten still counts")
		}
		if err := db.BeginPart(ctx, id, 1, "w3"); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckPart(ctx, id, 1, "w2"); !errors.Is(err, satchel.ErrConflict) {
			t.Fatalf("check a superseded mark: %v", err)
		}
		if err := db.FinishPart(ctx, id, 1, "w2", 5242880, "c2", "t2"); !errors.Is(err, satchel.ErrConflict) {
			t.Fatalf("finish a superseded write: %v", err)
		}
		if err := db.FinishPart(ctx, id, 1, "w3", 5242880, "c3", "t3"); err != nil {
			t.Fatal(err)
		}
		if p := parts(); p[1].Tag != "t3" {
			t.Fatalf("tag of the rewritten part: %q", p[1].Tag)
		}
		// Dropping for other writers leaves the record alone.
		if err := db.DropPart(ctx, id, 1, "w1", "w2"); err != nil || parts()[1].Checksum != "c3" {
			t.Fatalf("drop for other writers: %v %v", err, parts())
		}
		if err := db.DropPart(ctx, id, 1, "w3"); err != nil || len(parts()) != 0 {
			t.Fatalf("drop: %v %v", err, parts())
		}
		if err := db.PutPart(ctx, id, 1, 5242880, "c4"); err != nil {
			t.Fatal(err)
		}

		// Fenced: no part changes until the fence is lifted.
		if err := db.FenceUploadSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := db.FenceUploadSession(ctx, id); err != nil {
			t.Fatalf("fence again: %v", err)
		}
		if _, _, err := db.ClaimPart(ctx, id, 2, "w5"); !errors.Is(err, satchel.ErrConflict) {
			t.Fatalf("claim when fenced: %v", err)
		}
		if err := db.BeginPart(ctx, id, 1, "w5"); !errors.Is(err, satchel.ErrConflict) {
			t.Fatalf("begin when fenced: %v", err)
		}
		if err := db.DropPart(ctx, id, 1); err != nil || parts()[1].Checksum != "c4" {
			t.Fatalf("drop when fenced: %v %v", err, parts())
		}
		if err := db.UnfenceUploadSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, claimed, err := db.ClaimPart(ctx, id, 2, "w5"); err != nil || !claimed {
			t.Fatalf("claim after unfence: %v %v", claimed, err)
		}

		const gone = "99999999-2222-4333-8444-555555555555"
		if _, _, err := db.ClaimPart(ctx, gone, 1, "w"); !satchel.IsNotFound(err) {
			t.Fatalf("claim in a missing session: %v", err)
		}
		if err := db.BeginPart(ctx, gone, 1, "w"); !satchel.IsNotFound(err) {
			t.Fatalf("begin in a missing session: %v", err)
		}
		if err := db.FenceUploadSession(ctx, gone); !satchel.IsNotFound(err) {
			t.Fatalf("fence a missing session: %v", err)
		}
	})
}

// A fence and a part write racing each other never both succeed.
func TestPartWriteFenceRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		for i := 0; i < 40; i++ {
			id := fmt.Sprintf("11111111-2222-4333-8444-%012d", i)
			newSession(t, db, id)
			if err := db.PutPart(ctx, id, 1, 5242880, "c"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var fenceErr, beginErr error
			wg.Add(2)
			go func() { defer wg.Done(); fenceErr = db.FenceUploadSession(ctx, id) }()
			go func() { defer wg.Done(); beginErr = db.BeginPart(ctx, id, 1, "w") }()
			wg.Wait()
			if fenceErr == nil && beginErr == nil {
				t.Fatalf("round %d: a part write began in a fenced session", i)
			}
			if fenceErr != nil && !errors.Is(fenceErr, satchel.ErrConflict) || beginErr != nil && !errors.Is(beginErr, satchel.ErrConflict) {
				t.Fatalf("round %d: fence %v, begin %v", i, fenceErr, beginErr)
			}
		}
	})
}
