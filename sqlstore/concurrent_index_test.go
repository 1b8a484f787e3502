package sqlstore

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
)

// The PostgreSQL file list indexes are built CONCURRENTLY, outside a
// transaction: run again after an upgrade that stopped midway (leaving an
// index half built, invalid), the migration ends with every index valid
// and the old ones gone.
func TestFileListIndexesRerunPostgres(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := uuid.NewString()
	p := &satchel.Project{Name: "p", PublicKey: key, SecretKey: key}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.CreateFiles(ctx, []*satchel.File{newTestFile(p.ID)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// An interrupted build: an invalid index under one of the names (a
	// unique index the rows break fails and is left invalid).
	if _, err := db.wdb.ExecContext(ctx, `DROP INDEX files_list_live_size`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.wdb.ExecContext(ctx, `CREATE UNIQUE INDEX CONCURRENTLY files_list_live_size ON files (project_id)`); err == nil {
		t.Fatal("the unique index over duplicates was built")
	}
	if _, err := db.wdb.ExecContext(ctx, `CREATE INDEX files_project_size ON files (project_id, size, uuid)`); err != nil {
		t.Fatal(err)
	}
	if n := invalidIndexes(t, db); n != 1 {
		t.Fatalf("%d invalid indexes, want the one half built", n)
	}
	// The migration file again, recorded in a table of its own.
	body, err := fs.ReadFile(migrationFiles, "migrations/postgres/00005_file_list_indexes.sql")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"00005_file_list_indexes.sql": {Data: body}}
	gp, err := goose.NewProvider(goose.DialectPostgres, db.wdb, fsys, goose.WithDisableGlobalRegistry(true), goose.WithTableName("goose_rerun_test"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.wdb.ExecContext(ctx, `DROP TABLE IF EXISTS goose_rerun_test`)
	if _, err := gp.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if n := invalidIndexes(t, db); n != 0 {
		t.Fatalf("%d invalid indexes after the rerun", n)
	}
	var names []string
	rows, err := db.wdb.QueryContext(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'files' AND (indexname LIKE 'files_list_%' OR indexname LIKE 'files_project_%') ORDER BY indexname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if len(names) != 8 {
		t.Fatalf("indexes after the rerun: %v", names)
	}
	for _, n := range names {
		if n == "files_project_size" || n == "files_project_uploaded" {
			t.Fatalf("old index %s kept: %v", n, names)
		}
	}
}

func invalidIndexes(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	err := db.wdb.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pg_index WHERE indrelid = 'files'::regclass AND NOT indisvalid`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Nodes starting together on one new database all come up: the ones
// waiting for the first's migration hold no snapshot that its CREATE INDEX
// CONCURRENTLY would wait for (see migrationLock). The deadline only ends
// a test that would otherwise hang.
func TestConcurrentOpenPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := OpenPostgres(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
