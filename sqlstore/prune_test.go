package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/testenv"
)

// testPruneBatches fills the history tables with rows of every kind,
// raw, and checks that PruneHistory, deleting a few rows per transaction,
// forgets all the old finished deliveries and the old events nothing
// refers to, and keeps pending deliveries (with their events) and recent
// rows.
func testPruneBatches(t *testing.T, db *DB) {
	defer func(n int) { pruneBatch = n }(pruneBatch)
	pruneBatch = 3
	ctx := context.Background()
	now := time.Now()
	old, recent := micros(now.Add(-48*time.Hour)), micros(now.Add(-time.Hour))
	seq := 0
	// add writes n events created at created and, unless delivery is
	// empty, a delivery of each in that state, updated at updated; with
	// spread, each row one microsecond after the previous one.
	add := func(n int, created int64, delivery string, updated int64, spread bool) {
		for range n {
			seq++
			if spread {
				created++
				updated++
			}
			id := fmt.Sprintf("ev-%04d", seq)
			if _, err := db.w.ExecContext(ctx, `INSERT INTO events (id, project_id, type, payload, created) VALUES (?, 1, 'file.uploaded', '{}', ?)`, id, created); err != nil {
				t.Fatal(err)
			}
			if delivery == "" {
				continue
			}
			if _, err := db.w.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, webhook_id, project_id, attempts, next_attempt, lease_until, status, last_status, last_response, last_error, updated)
				VALUES (?, ?, 1, 1, 1, 0, 0, ?, 0, '', '', ?)`, id+":1", id, delivery, updated); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(6, old, "delivered", old, true) // go, with their events
	add(3, old, "pending", old, true)   // stay, with their events
	add(4, old, "failed", old, true)    // go, with their events
	add(2, old, "pending", old, true)
	add(4, old+100, "delivered", old+100, false) // more than a batch at one instant: go
	add(5, old, "delivered", recent, true)
	add(7, old, "", 0, true)    // old events without deliveries: go
	add(4, recent, "", 0, true) // recent ones stay
	n, err := db.PruneHistory(ctx, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 14+14+7 {
		t.Errorf("pruned %d rows, want %d", n, 14+14+7)
	}
	count := func(q string) int {
		var c int
		if err := db.r.QueryRowContext(ctx, q).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count(`SELECT COUNT(*) FROM deliveries WHERE status = 'pending' OR updated >= ` + fmt.Sprint(recent)); c != 10 {
		t.Errorf("%d pending or recent deliveries left, want 10", c)
	}
	if c := count(`SELECT COUNT(*) FROM deliveries`); c != 10 {
		t.Errorf("%d deliveries left, want 10", c)
	}
	if c := count(`SELECT COUNT(*) FROM events`); c != 5+5+4 {
		t.Errorf("%d events left, want 14", c)
	}
	if c := count(`SELECT COUNT(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) AND e.created < ` + fmt.Sprint(recent)); c != 0 {
		t.Errorf("%d old events without deliveries left", c)
	}
	if n, err := db.PruneHistory(ctx, now.Add(-24*time.Hour)); err != nil || n != 0 {
		t.Errorf("second prune: %d rows, %v", n, err)
	}
}

func TestPruneBatchesSQLite(t *testing.T) {
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	testPruneBatches(t, db)
}

func TestPruneBatchesPostgres(t *testing.T) {
	db, err := OpenPostgres(context.Background(), testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	testPruneBatches(t, db)
}

// BenchmarkPruneHistorySQLite prunes a month's backlog of 50000 delivered
// events (and their deliveries) and 50000 pending ones that stay:
//
//	go test ./sqlstore -run '^$' -bench PruneHistory -benchtime 1x
func BenchmarkPruneHistorySQLite(b *testing.B) {
	const n = 50000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		db, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "s.db"))
		if err != nil {
			b.Fatal(err)
		}
		tx, err := db.wdb.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		old := micros(time.Now().Add(-40 * 24 * time.Hour))
		for i := range 2 * n {
			id := fmt.Sprintf("ev-%08d", i)
			st := "delivered"
			if i%2 == 1 {
				st = "pending"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, project_id, type, payload, created) VALUES (?, 1, 'file.uploaded', '{}', ?)`, id, old); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, webhook_id, project_id, attempts, next_attempt, lease_until, status, last_status, last_response, last_error, updated)
				VALUES (?, ?, 1, 1, 1, 0, 0, ?, 200, '', '', ?)`, id+":1", id, st, old); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		pruned, err := db.PruneHistory(ctx, time.Now().Add(-30*24*time.Hour))
		b.StopTimer()
		if err != nil || pruned != 2*n {
			b.Fatalf("pruned %d rows (%v), want %d", pruned, err, 2*n)
		}
		db.Close()
	}
}
