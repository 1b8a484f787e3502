package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel/jobs"
)

// execer runs queries written with "?" placeholders, rebinding them to "$n"
// for PostgreSQL. It wraps *sql.DB and *sql.Tx alike.
type execer struct {
	c interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	pg bool
	// tx is the transaction c runs in (nil outside one); ins inserts jobs
	// in it.
	tx  *sql.Tx
	ins jobs.Inserter
	// sc holds the prepared statements of the pool c is (or tx runs on);
	// nil runs every query as text.
	sc *stmtCache
}

// insertJobs queues jobs in e's transaction: they commit with the change
// that causes them, or not at all.
func (e execer) insertJobs(ctx context.Context, args ...river.JobArgs) error {
	if e.tx == nil {
		return fmt.Errorf("sqlstore: jobs inserted outside a transaction")
	}
	return jobs.Insert(ctx, e.ins, e.tx, args...)
}

var rebound sync.Map // query → rebound query

func (e execer) q(query string) string {
	if !e.pg {
		return query
	}
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	rebound.Store(query, b.String())
	return b.String()
}

// stmt returns the prepared statement for query to run on e, or nil to run
// the query as text: in a transaction, the pool's statement bound to the
// transaction's connection (see stmtCache).
func (e execer) stmt(ctx context.Context, query string) *sql.Stmt {
	if e.sc == nil {
		return nil
	}
	if e.tx == nil {
		s := e.sc.prepare(ctx, query)
		if s != nil {
			e.sc.hits.Add(1)
		}
		return s
	}
	s := e.sc.get(query)
	if s == nil {
		e.sc.wantLater(query)
		return nil
	}
	e.sc.hits.Add(1)
	return e.tx.StmtContext(ctx, s)
}

func (e execer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = e.q(query)
	if s := e.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return e.c.ExecContext(ctx, query, args...)
}

func (e execer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = e.q(query)
	if s := e.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return e.c.QueryContext(ctx, query, args...)
}

func (e execer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = e.q(query)
	if s := e.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return e.c.QueryRowContext(ctx, query, args...)
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// queryAll runs a query on e and scans every row with scan; what names the
// query in errors.
func queryAll[T any](ctx context.Context, e execer, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := e.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return out, nil
}
