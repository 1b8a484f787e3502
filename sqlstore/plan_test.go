package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
)

// listQueries are every shape of file list: each state filter, ordering,
// direction and cursor kind.
func listQueries() []satchel.FileQuery {
	tr, fa := true, false
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	size := int64(1234)
	var out []satchel.FileQuery
	for _, removed := range []bool{false, true} {
		for _, stored := range []*bool{nil, &tr, &fa} {
			for _, bySize := range []bool{false, true} {
				for _, desc := range []bool{false, true} {
					for _, cursor := range []string{"none", "key", "key+uuid"} {
						q := satchel.FileQuery{ProjectID: 7, Removed: removed, Stored: stored, BySize: bySize, Desc: desc, Limit: 100}
						if cursor != "none" {
							q.FromTime, q.FromSize = &at, &size
							if cursor == "key+uuid" {
								q.FromUUID = "5c2ac7d2-3b4a-4b8e-9a55-6f5ad0f5b0f1"
							}
						}
						out = append(out, q)
					}
				}
			}
		}
	}
	return out
}

// listIndex is the index a list must read.
func listIndex(q satchel.FileQuery) string {
	state := "live"
	switch {
	case q.Removed:
		state = "removed"
	case q.Stored != nil && *q.Stored:
		state = "stored"
	case q.Stored != nil:
		state = "unstored"
	}
	col := "uploaded"
	if q.BySize {
		col = "size"
	}
	return "files_list_" + state + "_" + col
}

func describe(q satchel.FileQuery) string {
	stored := "any"
	if q.Stored != nil {
		stored = fmt.Sprint(*q.Stored)
	}
	return fmt.Sprintf("removed=%v stored=%s size=%v desc=%v from=%v/%q", q.Removed, stored, q.BySize, q.Desc, q.FromTime != nil, q.FromUUID)
}

// TestListPlansSQLite checks that every file list is one range of its
// state's index in the list's order: no temporary b-tree (a sort), no
// other index, no table scan.
func TestListPlansSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range listQueries() {
		query, args := listFilesQuery(q)
		rows, err := db.rdb.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		want := "SEARCH files USING INDEX " + listIndex(q) + " ("
		if len(plan) != 1 || !strings.HasPrefix(p, want) {
			t.Errorf("%s: plan %q, want one %q…", describe(q), p, want)
		}
	}
}

// TestListPlansPostgres checks the same on PostgreSQL. The test tables are
// nearly empty, so sequential scans and sorts are priced out first: a plan
// that still sorts has no index giving the order.
func TestListPlansPostgres(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.rdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, set := range []string{"enable_seqscan", "enable_sort", "enable_bitmapscan"} {
		if _, err := conn.ExecContext(ctx, `SET `+set+` = off`); err != nil {
			t.Fatal(err)
		}
	}
	e := execer{pg: true}
	for _, q := range listQueries() {
		query, args := listFilesQuery(q)
		rows, err := conn.QueryContext(ctx, `EXPLAIN `+e.q(query), args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		if !strings.Contains(p, "Index Scan") || !strings.Contains(p, " using "+listIndex(q)+" on files") || strings.Contains(p, "Sort") {
			t.Errorf("%s: plan\n%s\nwant an index scan of %s without a sort", describe(q), p, listIndex(q))
		}
	}
}
