package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel/jobs"
)

// beatArgs is a job that runs a heartbeat, for attempt+Offset, until it
// sees the job's attempted_at move or its heartbeat context end.
type beatArgs struct{ Offset int }

func (beatArgs) Kind() string { return "test_beat" }

func (beatArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance, MaxAttempts: 1}
}

// beatResult is what a beat job saw.
type beatResult struct {
	moved bool  // attempted_at moved while the job ran
	cause error // why the heartbeat context ended, if it did
}

type beatWorker struct {
	river.WorkerDefaults[beatArgs]
	db  jobs.DB
	out chan beatResult
}

func (w *beatWorker) Work(ctx context.Context, job *river.Job[beatArgs]) error {
	attempted := func() string {
		var s string
		w.db.SQL.QueryRowContext(ctx, `SELECT attempted_at FROM river_job WHERE id = `+strconv.FormatInt(job.ID, 10)).Scan(&s)
		return s
	}
	first := attempted()
	hctx, stop := w.db.Heartbeat(ctx, slog.New(slog.DiscardHandler), job.ID, job.Attempt+job.Args.Offset)
	defer stop()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-hctx.Done():
			w.out <- beatResult{cause: context.Cause(hctx)}
			return nil
		case <-deadline:
			w.out <- beatResult{}
			return nil
		case <-time.After(20 * time.Millisecond):
			if attempted() != first {
				w.out <- beatResult{moved: true}
				return nil
			}
		}
	}
}

// testHeartbeat runs a beat job for its own attempt (its row is touched,
// its context lives) and one for another attempt (its context ends with
// ErrTakenOver, as when the job was rescued and retried elsewhere).
func testHeartbeat(t *testing.T, db jobs.DB) {
	defer jobs.SetHeartbeatEvery(100 * time.Millisecond)()
	out := make(chan beatResult, 2)
	workers := river.NewWorkers()
	river.AddWorker(workers, &beatWorker{db: db, out: out})
	start(t, jobs.Config{DB: db, Workers: workers})
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	run := func(offset int) beatResult {
		t.Helper()
		tx, err := db.SQL.BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Insert(context.Background(), ins, tx, beatArgs{Offset: offset}); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-out:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("the beat job never ran")
		}
		return beatResult{}
	}
	if r := run(0); !r.moved || r.cause != nil {
		t.Errorf("own attempt: attempted_at moved %v, context ended by %v; want moved and alive", r.moved, r.cause)
	}
	if r := run(1); !errors.Is(r.cause, jobs.ErrTakenOver) {
		t.Errorf("other attempt: context ended by %v, want ErrTakenOver", r.cause)
	}
}

func TestHeartbeatSQLite(t *testing.T) { testHeartbeat(t, sqliteDB(t)) }

func TestHeartbeatPostgres(t *testing.T) { testHeartbeat(t, postgresDB(t)) }
