package sqlstore

import (
	"context"
	"fmt"
	"math"
)

// Claims are fair across projects. A claim takes a project's due work only
// while that project has fewer than perProject claims running (leased and
// not yet expired, on any node), and it interleaves the projects: the
// project with the fewest running claims goes first, oldest work first
// within a project. One project's slow sources or dead receivers thus hold
// at most perProject workers, and the rest stay free for the others.
//
// The count and the new leases must agree across nodes, so on PostgreSQL
// the claims of a queue are serialised by a transaction-level advisory lock
// (a claim is one short statement). SQLite has a single writer, and the
// claim is one statement.

// Advisory lock keys of the claim queues (7472616 serialises migrations).
const (
	lockFetchClaims    = "7472617"
	lockDeliveryClaims = "7472618"
)

// perProjectCap turns a per-project cap argument (<= 0: none) into the
// bound the claim queries compare with.
func perProjectCap(n int) int {
	if n <= 0 {
		return math.MaxInt32
	}
	return n
}

// claim runs fn, which claims with one statement, holding the queue's claim
// lock on PostgreSQL.
func (db *DB) claim(ctx context.Context, lockKey string, fn func(e execer) error) error {
	if !db.pg {
		return fn(db.w)
	}
	return db.tx(ctx, func(tx execer) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+lockKey+`)`); err != nil {
			return fmt.Errorf("sqlstore: claim lock: %w", err)
		}
		return fn(tx)
	})
}
