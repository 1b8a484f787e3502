package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/sqlstore"
	"github.com/satchel-project/satchel/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) satchel.Store {
		db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// postgresDSN returns a DSN for a fresh schema of the test database named by
// SATCHEL_TEST_DATABASE_URL, or skips.
func postgresDSN(t *testing.T) string {
	base := os.Getenv("SATCHEL_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("SATCHEL_TEST_DATABASE_URL not set: PostgreSQL conformance skipped")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("satchel_test_%d", time.Now().UnixNano())
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func TestPostgresConformance(t *testing.T) {
	postgresDSN(t) // skip early when unset
	storetest.Run(t, func(t *testing.T) satchel.Store {
		db, err := sqlstore.OpenPostgres(context.Background(), postgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
