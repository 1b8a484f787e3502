package jobs_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/sqlstore"
)

// tickArgs is a periodic job of the test.
type tickArgs struct{}

func (tickArgs) Kind() string { return "test_tick" }

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	runs *atomic.Int32
}

func (w *tickWorker) Work(context.Context, *river.Job[tickArgs]) error {
	w.runs.Add(1)
	return nil
}

// node starts a job client working the periodic tick job on db.
func node(t *testing.T, db jobs.DB, every time.Duration, runs *atomic.Int32) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &tickWorker{runs: runs})
	start(t, jobs.Config{DB: db, Workers: workers, Periodic: []*river.PeriodicJob{jobs.Periodic(tickArgs{}, every)}})
}

// start runs a job client with cfg, working the maintenance queue, until
// the test ends.
func start(t *testing.T, cfg jobs.Config) {
	t.Helper()
	cfg.Queues, cfg.FetchPollInterval = map[string]int{jobs.QueueMaintenance: 2}, 50*time.Millisecond
	c, err := jobs.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
		c.Close()
	})
}

// sqliteDB and postgresDB open a store of each kind for its jobs database.
func sqliteDB(t *testing.T) jobs.DB {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "satchel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.JobsDB()
}

func postgresDB(t *testing.T) jobs.DB {
	s, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.JobsDB()
}

// testPeriodicOnce runs two nodes on one database for a few periods and
// checks the periodic job ran once per period in all, not once per node.
func testPeriodicOnce(t *testing.T, db jobs.DB) {
	const every = time.Second
	var a, b atomic.Int32
	node(t, db, every, &a)
	node(t, db, every, &b)
	// The first run comes once a leader is elected.
	deadline := time.Now().Add(20 * time.Second)
	for a.Load()+b.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the periodic job never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	first := a.Load() + b.Load()
	start := time.Now()
	time.Sleep(6 * time.Second)
	periods := int32(time.Since(start) / every)
	total := a.Load() + b.Load() - first
	t.Logf("%d periods: node A ran the job %d times, node B %d times in all", periods, a.Load(), b.Load())
	if total < periods/2 || total > periods+1 {
		t.Fatalf("the periodic job ran %d times in %d periods on two nodes, want once per period", total, periods)
	}
}

func TestPeriodicOnceSQLite(t *testing.T) { testPeriodicOnce(t, sqliteDB(t)) }

func TestPeriodicOncePostgres(t *testing.T) { testPeriodicOnce(t, postgresDB(t)) }
