package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/satchel-project/satchel/internal/reqctx"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// DB is the metadata database the jobs live in, next to the store's tables.
type DB struct {
	// SQL is the store's writer pool: on SQLite its single connection,
	// which River shares with the store (SQLite has one writer).
	SQL *sql.DB
	// PG selects PostgreSQL; DSN then opens the pool River's workers use.
	PG  bool
	DSN string
}

// ErrTakenOver is returned by Touch when the job's attempt no longer runs:
// it was rescued and retried (on this or another node) meanwhile.
var ErrTakenOver = errors.New("jobs: job taken over by another attempt")

const slotsDDL = `CREATE TABLE IF NOT EXISTS job_slots (
	job_id     BIGINT PRIMARY KEY,
	queue      TEXT NOT NULL,
	project_id BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_slots_project ON job_slots (queue, project_id);`

// Migrate brings River's tables (and the fairness slots) up to date. The
// store runs it when it opens, so `satchel serve` and `satchel migrate`
// both do.
func Migrate(ctx context.Context, db DB, log *slog.Logger) error {
	cfg := &rivermigrate.Config{Logger: quiet(log)}
	var err error
	if db.PG {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riverdatabasesql.New(db.SQL), cfg); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	} else {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(db.SQL), cfg); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := db.SQL.ExecContext(ctx, slotsDDL); err != nil {
		return fmt.Errorf("jobs: migrate slots: %w", err)
	}
	return nil
}

// quiet keeps River's own info logs (migrations, client start and stop)
// out of the server's log unless it runs at debug level.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(levelFloor{log.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}

func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}

// Inserter inserts jobs in a transaction of the store (database/sql).
type Inserter interface {
	InsertManyTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// NewInserter returns an insert-only River client on db's pool: on SQLite
// the riversqlite driver, on PostgreSQL the database/sql driver (the store
// talks to PostgreSQL through database/sql; the workers use pgx).
func NewInserter(db DB) (Inserter, error) {
	cfg := &river.Config{Logger: quiet(nil)}
	if db.PG {
		c, err := river.NewClient(riverdatabasesql.New(db.SQL), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: inserter: %w", err)
		}
		return c, nil
	}
	c, err := river.NewClient(riversqlite.New(db.SQL), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: inserter: %w", err)
	}
	return c, nil
}

// Insert inserts jobs in tx with ins; jobs already queued (unique) are
// skipped.
func Insert(ctx context.Context, ins Inserter, tx *sql.Tx, args ...river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	// Workers log with the id of the request that queued the job, and
	// link their spans to its.
	md := map[string]string{}
	if info := reqctx.From(ctx); info != nil {
		md[metaRequestID] = info.ID
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(md))
	}
	var opts *river.InsertOpts
	if len(md) > 0 {
		b, err := json.Marshal(md)
		if err != nil {
			return fmt.Errorf("jobs: insert %s: %w", args[0].Kind(), err)
		}
		opts = &river.InsertOpts{Metadata: b}
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a, InsertOpts: opts}
	}
	if _, err := ins.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args[0].Kind(), err)
	}
	return nil
}

func (db DB) q(query string) string {
	if !db.PG {
		return query
	}
	out := make([]byte, 0, len(query)+8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, query[i])
	}
	return string(out)
}

// AcquireSlot takes one of the cap slots a project has in a queue, for the
// running job jobID, and reports whether it got one. Slots count across
// every node: a slot is held while its job is running in River's view
// (until it finishes, or is rescued after its node died), so no lease of
// our own is needed. cap <= 0 means no cap.
func (db DB) AcquireSlot(ctx context.Context, queue string, projectID, jobID int64, cap int) (bool, error) {
	if cap <= 0 {
		return true, nil
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("jobs: slot: %w", err)
	}
	defer tx.Rollback()
	if db.PG {
		// Counting and taking must not interleave across nodes.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7472619)`); err != nil {
			return false, fmt.Errorf("jobs: slot lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM job_slots WHERE job_id = ?`), jobID); err != nil {
		return false, fmt.Errorf("jobs: slot: %w", err)
	}
	res, err := tx.ExecContext(ctx, db.q(`INSERT INTO job_slots (job_id, queue, project_id)
		SELECT ?, ?, ? WHERE (SELECT COUNT(*) FROM job_slots s JOIN river_job j ON j.id = s.job_id
			WHERE s.queue = ? AND s.project_id = ? AND j.state = 'running') < ?`),
		jobID, queue, projectID, queue, projectID, cap)
	if err != nil {
		return false, fmt.Errorf("jobs: slot: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("jobs: slot: %w", err)
	}
	return n == 1, nil
}

// ReleaseSlot gives back the slot of jobID (if it holds one).
func (db DB) ReleaseSlot(ctx context.Context, jobID int64) error {
	if _, err := db.SQL.ExecContext(ctx, db.q(`DELETE FROM job_slots WHERE job_id = ?`), jobID); err != nil {
		return fmt.Errorf("jobs: release slot: %w", err)
	}
	return nil
}

// PruneSlots forgets slots whose job no longer runs (a node died holding
// them; they stopped counting when River rescued the job).
func (db DB) PruneSlots(ctx context.Context) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM job_slots WHERE job_id NOT IN (SELECT id FROM river_job WHERE state = 'running')`)
	if err != nil {
		return fmt.Errorf("jobs: prune slots: %w", err)
	}
	return nil
}

// Touch is the heartbeat of a long job: it moves the running attempt's
// start (River's attempted_at) to now, so River's rescuer, which retries
// jobs running for longer than their timeout, leaves a live job alone and
// takes over only the jobs of a node that stopped beating (died). It
// returns ErrTakenOver when the attempt no longer runs.
func (db DB) Touch(ctx context.Context, jobID int64, attempt int) error {
	var now any = time.Now().UTC()
	if !db.PG {
		// riversqlite's time format; other formats do not compare.
		now = time.Now().UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
	}
	res, err := db.SQL.ExecContext(ctx, db.q(`UPDATE river_job SET attempted_at = ? WHERE id = ? AND attempt = ? AND state = 'running'`), now, jobID, attempt)
	if err != nil {
		return fmt.Errorf("jobs: heartbeat: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrTakenOver
	}
	return nil
}

// heartbeatEvery is HeartbeatEvery; tests shorten it.
var heartbeatEvery = HeartbeatEvery

// Heartbeat keeps a long job's attempt alive past River's job timeout: it
// touches the attempt (see Touch) every HeartbeatEvery until stop is
// called or ctx ends. The returned context ends with cause ErrTakenOver
// once another attempt has taken the job over, so this one stops writing;
// other heartbeat errors are logged with attrs and the beats go on.
func (db DB) Heartbeat(ctx context.Context, log *slog.Logger, jobID int64, attempt int, attrs ...any) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		tick := time.NewTicker(heartbeatEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := db.Touch(ctx, jobID, attempt); errors.Is(err, ErrTakenOver) {
					log.WarnContext(ctx, "job taken over by another attempt", append([]any{"job_id", jobID, "attempt", attempt}, attrs...)...)
					cancel(err)
					return
				} else if err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "job heartbeat", append([]any{"job_id", jobID, "attempt", attempt, "err", err}, attrs...)...)
				}
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
