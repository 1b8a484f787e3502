// Command searchtime times file searches (the store's SearchFiles, as
// POST /files/search/ runs it) on the database bench/restlist fills:
//
//	go run ./bench/restlist -n 1000000 -dir /tmp/restlist -requests 1
//	go run ./bench/searchtime -dir /tmp/restlist
//	go run ./bench/searchtime -database-url "$DSN" # the schema restlist filled
//
// Each search runs -runs times; it prints the median and the slowest run,
// the page's size and the (capped) total.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"path/filepath"
	"slices"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/sqlstore"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("searchtime: ")
	dir := flag.String("dir", "", "data dir bench/restlist filled (SQLite)")
	dsn := flag.String("database-url", "", "PostgreSQL DSN with the benchmark's search_path, instead of -dir")
	runs := flag.Int("runs", 5, "runs per search")
	flag.Parse()
	ctx := context.Background()
	var db *sqlstore.DB
	var err error
	if *dsn != "" {
		db, err = sqlstore.OpenPostgres(ctx, *dsn)
	} else {
		db, err = sqlstore.OpenSQLite(ctx, filepath.Join(*dir, "satchel.db"))
	}
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	p, err := db.ProjectByPublicKey(ctx, "benchpub")
	if err != nil {
		log.Fatal(err)
	}
	c, _ := db.FileCounts(ctx, p.ID)
	fmt.Printf("project files: %d live, %d removed\n\n", c.Stored+c.Unstored, c.Removed)
	no := false
	lo, hi := int64(1000), int64(1010)
	bySize := []satchel.SearchSort{{Key: satchel.SortSize}}
	searches := []struct {
		name string
		q    satchel.FileSearch
	}{
		{"is_image=false (newest first)", satchel.FileSearch{IsImage: &no}},
		{"tags.all=[gallery]", satchel.FileSearch{TagsAll: []string{"gallery"}}},
		{"size 1000..1010, sort size", satchel.FileSearch{Size: satchel.Range[int64]{Gte: &lo, Lte: &hi}, Sort: bySize}},
		{"exact original_filename", satchel.FileSearch{ExactFilename: []string{"invoice-12345.pdf"}}},
		{"query invoice (15% match, by score)", satchel.FileSearch{Query: []string{"invoice"}}},
		{"query invoice-12345 (1 match)", satchel.FileSearch{Query: []string{"invoice-12345"}}},
		{"query nothingmatches", satchel.FileSearch{Query: []string{"nothingmatches"}}},
		{"query nothingmatches, fuzzy", satchel.FileSearch{Query: []string{"nothingmatches"}, Fuzzy: true}},
		{"phrase metadata uploader, newest first", satchel.FileSearch{PhraseMetadata: "uploader", Sort: []satchel.SearchSort{{Key: satchel.SortDatetimeUploaded, Desc: true}}}},
	}
	fmt.Printf("| search | median | slowest | page | total |\n|---|---|---|---|---|\n")
	for _, s := range searches {
		q := s.q
		q.ProjectID, q.Limit = p.ID, 20
		var times []time.Duration
		var n int
		var total int64
		var failed error
		for range *runs {
			t0 := time.Now()
			files, tot, err := db.SearchFiles(ctx, q)
			times = append(times, time.Since(t0))
			if err != nil {
				failed = err
				break
			}
			n, total = len(files), tot
		}
		slices.Sort(times)
		if failed != nil {
			fmt.Printf("| %s | failed after %s: %v | | | |\n", s.name, times[len(times)-1].Round(time.Millisecond), failed)
			continue
		}
		fmt.Printf("| %s | %s | %s | %d | %d |\n", s.name, times[len(times)/2].Round(100*time.Microsecond),
			times[len(times)-1].Round(100*time.Microsecond), n, total)
	}
}
