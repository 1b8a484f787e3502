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

// S3URL is the environment variable naming the test S3 bucket URL.
const S3URL = "SATCHEL_TEST_S3_URL"

// HasS3 reports whether a test S3 bucket is configured.
func HasS3() bool { return os.Getenv(S3URL) != "" }

// S3BucketURL returns the test bucket URL with a prefix of its own, or skips.
func S3BucketURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(S3URL)
	if base == "" {
		t.Skip(S3URL + " not set: S3 tests skipped (CI sets it; see scripts/s3server.sh)")
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%sprefix=t%d/", base, sep, time.Now().UnixNano())
}
