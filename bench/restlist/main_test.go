package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The raw keyset query reads full pages from a filled SQLite database, from
// the start and from the middle cursor, and reports a short page.
func TestRawKeysetPages(t *testing.T) {
	ctx := context.Background()
	tg := target{dir: t.TempDir()}
	const n = 300
	fill(ctx, tg, n)
	fill(ctx, tg, n) // a full database is left as it is
	db := open(ctx, tg)
	p, err := db.ProjectByPublicKey(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.FileCounts(ctx, p.ID)
	db.Close()
	if err != nil || c.Stored+c.Unstored != n {
		t.Fatalf("files after filling twice: %+v, %v; want %d", c, err, n)
	}
	projectID, mid, err := midCursor(ctx, tg, n)
	if err != nil || projectID != p.ID {
		t.Fatalf("midCursor: %d, %v", projectID, err)
	}
	raw, err := openRaw(tg)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.close()
	if err := raw.page(ctx, projectID, nil); err != nil {
		t.Errorf("first page: %v", err)
	}
	if err := raw.page(ctx, projectID, &mid); err != nil {
		t.Errorf("deep page: %v", err)
	}
	late := mid.Add(time.Duration(n/2-50) * time.Millisecond) // fewer than 100 files after it
	if err := raw.page(ctx, projectID, &late); err == nil || !strings.Contains(err.Error(), "want 100") {
		t.Errorf("short page: %v, want an error", err)
	}
}
