package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/satchel-project/satchel/internal/reqctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Config sets up a node's job client.
type Config struct {
	DB DB
	// Workers run the job kinds; nil makes a client that only inspects and
	// changes jobs (satchel jobs …).
	Workers *river.Workers
	// Queues maps each queue this node works to its number of workers.
	Queues map[string]int
	// Periodic jobs are inserted by the cluster's leader only.
	Periodic []*river.PeriodicJob
	Log      *slog.Logger
	// RescueAfter is how long a job may run without finishing (or, for long
	// jobs, without a heartbeat: see DB.Touch) before River takes it from
	// its node, presumed dead, and retries it (default 20 s). Job kinds with
	// a longer timeout are rescued after that timeout instead.
	RescueAfter time.Duration
	// FetchPollInterval is how often idle workers look for jobs when no
	// insert notification woke them (default 1 s).
	FetchPollInterval time.Duration
	// OnCancel, when set, is called when Stop gives up waiting and cancels
	// the running jobs (for jobs that outlive River's job timeout).
	OnCancel func()
	// Tracer, when set, makes each job run a span, linked to the request
	// that queued the job.
	Tracer trace.TracerProvider
}

// DefaultRescueAfter is Config.RescueAfter's default.
const DefaultRescueAfter = 20 * time.Second

// HeartbeatEvery is how often long jobs call DB.Touch.
const HeartbeatEvery = 4 * time.Second

// runner is what Client uses of a river.Client, whatever its driver.
type runner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Client is a node's River client: on SQLite with the riversqlite driver on
// the store's writer connection, on PostgreSQL with the pgx driver on a pool
// of its own (LISTEN/NOTIFY wakes workers at once).
type Client struct {
	r    runner
	pool *pgxpool.Pool
	DB   DB
	log  *slog.Logger

	onCancel func()
	started  bool
	stopOnce sync.Once
	stopErr  error
}

// New returns a client; Start runs its workers and periodic jobs.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = DefaultRescueAfter
	}
	rc := &river.Config{
		Logger:               quiet(cfg.Log),
		Workers:              cfg.Workers,
		PeriodicJobs:         cfg.Periodic,
		RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout:           cfg.RescueAfter / 2,
		FetchPollInterval:    cfg.FetchPollInterval,
		FetchCooldown:        min(river.FetchCooldownDefault, cmp.Or(cfg.FetchPollInterval, river.FetchCooldownDefault)),
		// Status the APIs report lives in the store's rows (fetch tasks,
		// deliveries); finished jobs are only kept for operators.
		CompletedJobRetentionPeriod: 24 * time.Hour,
		Middleware:                  []rivertype.Middleware{river.WorkerMiddlewareFunc(traceJob(cfg.Log, cfg.Tracer))},
	}
	if cfg.Workers != nil {
		rc.Queues = map[string]river.QueueConfig{}
		for q, n := range cfg.Queues {
			rc.Queues[q] = river.QueueConfig{MaxWorkers: max(n, 1)}
		}
	}
	c := &Client{DB: cfg.DB, log: cfg.Log, onCancel: cfg.OnCancel}
	var err error
	if cfg.DB.PG {
		pc, perr := pgxpool.ParseConfig(cfg.DB.DSN)
		if perr != nil {
			return nil, fmt.Errorf("jobs: database URL: %w", perr)
		}
		if c.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
			return nil, fmt.Errorf("jobs: connect: %w", err)
		}
		c.r, err = river.NewClient(riverpgxv5.New(c.pool), rc)
	} else {
		c.r, err = river.NewClient(riversqlite.New(cfg.DB.SQL), rc)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("jobs: client: %w", err)
	}
	return c, nil
}

// metaRequestID is the key of a job's metadata holding the id of the
// request that queued it.
const metaRequestID = "request_id"

// metaTraceParent is the key of a job's metadata holding the W3C trace
// context of the request that queued it (when it was traced).
const metaTraceParent = "traceparent"

// traceJob returns the worker middleware that runs each job with the id of
// the request that queued it in its context (reqctx), so the job's log
// lines carry it, and logs one line per run: at debug level when it
// succeeds or waits its turn, as a warning when it fails. With a tracer
// each run is a span too, linked to the request's.
func traceJob(log *slog.Logger, tp trace.TracerProvider) func(context.Context, *rivertype.JobRow, func(context.Context) error) error {
	var tracer trace.Tracer
	if tp != nil {
		tracer = tp.Tracer("github.com/satchel-project/satchel/jobs")
	}
	return func(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
		var md map[string]any
		json.Unmarshal(job.Metadata, &md)
		id, _ := md[metaRequestID].(string)
		if id != "" {
			ctx = reqctx.With(ctx, &reqctx.Info{ID: id})
		}
		var span trace.Span
		if tracer != nil {
			opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
				attribute.String("job.kind", job.Kind), attribute.Int64("job.id", job.ID),
				attribute.Int("job.attempt", job.Attempt), attribute.String("job.queue", job.Queue))}
			if id != "" {
				opts = append(opts, trace.WithAttributes(attribute.String("request_id", id)))
			}
			if tparent, _ := md[metaTraceParent].(string); tparent != "" {
				carrier := propagation.MapCarrier{metaTraceParent: tparent}
				if sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier)); sc.IsValid() {
					opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
				}
			}
			ctx, span = tracer.Start(ctx, "job "+job.Kind, opts...)
			defer span.End()
		}
		start := time.Now()
		err := doInner(ctx)
		if span != nil && err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		attrs := []slog.Attr{
			slog.String("kind", job.Kind), slog.Int64("job", job.ID), slog.Int("attempt", job.Attempt),
			slog.Duration("duration", time.Since(start)),
		}
		var snooze *river.JobSnoozeError
		switch {
		case err == nil || errors.As(err, &snooze):
			log.LogAttrs(ctx, slog.LevelDebug, "job", attrs...)
		default:
			log.LogAttrs(ctx, slog.LevelWarn, "job", append(attrs, slog.String("err", err.Error()))...)
		}
		return err
	}
}

// Start runs the workers (and, on the leader, the periodic jobs and River's
// maintenance: rescuing the jobs of dead nodes, scheduling retries, cleaning
// finished jobs) until Stop.
func (c *Client) Start(ctx context.Context) error {
	if err := c.r.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	c.started = true
	return nil
}

// Stop stops taking jobs and waits for the running ones until ctx ends;
// then it cancels those still running (they return at once and are retried,
// here or on another node) and waits a little more for them to be recorded.
// Only the first call stops; later ones return its result.
func (c *Client) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		if c.started {
			c.stopErr = c.stop(ctx)
		}
	})
	return c.stopErr
}

func (c *Client) stop(ctx context.Context) error {
	err := c.r.Stop(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	c.log.Warn("jobs still running at the shutdown deadline are cancelled and will be retried")
	if c.onCancel != nil {
		c.onCancel()
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.r.StopAndCancel(cctx); err != nil {
		return fmt.Errorf("jobs: stop and cancel: %w", err)
	}
	return nil
}

// Close releases the client's own connections (after Stop).
func (c *Client) Close() {
	if c.pool != nil {
		c.pool.Close()
	}
}

// List returns up to limit jobs, newest first, optionally of some states
// and kinds.
func (c *Client) List(ctx context.Context, states []rivertype.JobState, kinds []string, limit int) ([]*rivertype.JobRow, error) {
	p := river.NewJobListParams().First(max(limit, 1)).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if len(states) > 0 {
		p = p.States(states...)
	}
	if len(kinds) > 0 {
		p = p.Kinds(kinds...)
	}
	res, err := c.r.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	return res.Jobs, nil
}

// Retry makes a job (not running) available to run again now.
func (c *Client) Retry(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.r.JobRetry(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: retry %d: %w", id, err)
	}
	return j, nil
}

// Cancel cancels a job; a running one is told to stop.
func (c *Client) Cancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.r.JobCancel(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: cancel %d: %w", id, err)
	}
	return j, nil
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.r.JobGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: get %d: %w", id, err)
	}
	return j, nil
}

// Depth counts the jobs of each queue and state not yet finished.
func (c *Client) Depth(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := c.DB.SQL.QueryContext(ctx, `SELECT queue, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending') GROUP BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("jobs: depth: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var q, s string
		var n int
		if err := rows.Scan(&q, &s, &n); err != nil {
			return nil, fmt.Errorf("jobs: depth: %w", err)
		}
		if out[q] == nil {
			out[q] = map[string]int{}
		}
		out[q][s] = n
	}
	return out, rows.Err()
}
