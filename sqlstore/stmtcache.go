package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
)

// maxStmts bounds a stmtCache: queries past it run unprepared. The store's
// queries are constant texts (a few dozen, the list queries' variants
// included), so the bound is only a guard.
const maxStmts = 256

// stmtCache keeps the prepared statements of one pool (*sql.DB), by query
// text. It is used on SQLite, whose driver parses and plans every query it
// is given as text again (half the cost of a small upload's INSERT);
// PostgreSQL's driver keeps its own statement cache per connection (pgx's
// default query exec mode, cache_statement), so it needs none.
//
// A *sql.Stmt belongs to the pool, and database/sql prepares it once per
// connection it runs on, keeping one driver statement per connection; a
// connection that is closed takes its statement with it, and the next
// connection prepares its own. In a transaction the statement is bound to the
// transaction's own connection with Tx.StmtContext, which reuses that
// connection's driver statement or prepares one on it.
//
// Preparing a new *sql.Stmt takes a connection from the pool. On the SQLite
// writer pool (one connection) that connection may be the one a transaction
// holds, and preparing from inside the transaction would wait for it forever.
// So a statement first met in a transaction runs unprepared there and is
// prepared once the transaction has given its connection back (prepareWanted).
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
	n  atomic.Int32
	// hits counts the queries run on a prepared statement.
	hits atomic.Int64

	mu      sync.Mutex
	want    map[string]struct{} // met in a transaction, not prepared yet
	hasWant atomic.Bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, want: map[string]struct{}{}}
}

func (c *stmtCache) get(query string) *sql.Stmt {
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt)
	}
	return nil
}

// prepare returns the pool's statement for query, preparing it when it is
// new. It must not be called while the caller holds one of the pool's
// connections. It returns nil (run the query unprepared) when the cache is
// full or the statement cannot be prepared: a query that fails to prepare
// then fails again, with its error, when it runs.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	if s := c.get(query); s != nil {
		return s
	}
	if c.n.Load() >= maxStmts {
		return nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt)
	}
	c.n.Add(1)
	return s
}

// wantLater records a query that ran unprepared in a transaction.
func (c *stmtCache) wantLater(query string) {
	if c.n.Load() >= maxStmts {
		return
	}
	c.mu.Lock()
	c.want[query] = struct{}{}
	c.hasWant.Store(true)
	c.mu.Unlock()
}

// prepareWanted prepares the queries met in transactions. The caller must
// hold none of the pool's connections (it runs after Commit or Rollback).
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if !c.hasWant.Load() {
		return
	}
	c.mu.Lock()
	queries := make([]string, 0, len(c.want))
	for q := range c.want {
		queries = append(queries, q)
	}
	clear(c.want)
	c.hasWant.Store(false)
	c.mu.Unlock()
	for _, q := range queries {
		if c.prepare(ctx, q) == nil && ctx.Err() == nil && c.n.Load() < maxStmts {
			slog.Debug("sqlstore: statement not prepared", "query", q)
		}
	}
}

// close closes every statement (their driver statements on every
// connection). Called before the pool is closed.
func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
	c.n.Store(0)
}

// size is the number of prepared statements (for tests).
func (c *stmtCache) size() int { return int(c.n.Load()) }
