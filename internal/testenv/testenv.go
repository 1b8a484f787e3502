// Package testenv gives tests the external back ends CI starts: a fresh
// PostgreSQL schema and an S3 bucket prefix, or a skip saying why not.
package testenv

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver
)

// PostgresURL is the environment variable naming the test database.
const PostgresURL = "SATCHEL_TEST_DATABASE_URL"

// HasPostgres reports whether a test database is configured.
func HasPostgres() bool { return os.Getenv(PostgresURL) != "" }

// PostgresDSN returns a DSN whose search_path is a new schema of the test
// database (dropped when the test ends), or skips the test.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURL)
	if base == "" {
		t.Skip(PostgresURL + " not set: PostgreSQL tests skipped (CI sets it)")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("satchel_test_%d", time.Now().UnixNano())
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
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
