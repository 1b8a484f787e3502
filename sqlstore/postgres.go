package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver
)

// OpenPostgres opens (and migrates) the PostgreSQL database at dsn
// ("postgres://user@host/db?sslmode=disable").
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect postgres: %w", err)
	}
	// Migrations of concurrent nodes are serialised by an advisory lock.
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: postgres conn: %w", err)
	}
	defer conn.Close()
	if err := migrationLock(ctx, conn); err != nil {
		db.Close()
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7472616)`)
	return open(ctx, db, db, true, dsn)
}

// migrationLockPoll is how often a node waiting for another's migration
// tries the lock again.
const migrationLockPoll = 100 * time.Millisecond

// migrationLock takes the advisory lock that serialises migrations, trying
// it again and again rather than waiting in pg_advisory_lock: a statement
// that waits keeps its snapshot, and CREATE INDEX CONCURRENTLY (a migration
// of the node holding the lock) waits for every older snapshot of the
// database to go, so the two would wait for each other for ever.
func migrationLock(ctx context.Context, conn *sql.Conn) error {
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(7472616)`).Scan(&ok); err != nil {
			return fmt.Errorf("sqlstore: migration lock: %w", err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlstore: migration lock: %w", ctx.Err())
		case <-time.After(migrationLockPoll):
		}
	}
}
