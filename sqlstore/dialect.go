package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
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

func (e execer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return e.c.ExecContext(ctx, e.q(query), args...)
}

func (e execer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return e.c.QueryContext(ctx, e.q(query), args...)
}

func (e execer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return e.c.QueryRowContext(ctx, e.q(query), args...)
}
