// Command restlist measures REST file listing at scale: it fills a project
// with N files (in bulk through the store, in SQLite or PostgreSQL), starts
// `satchel serve` on that database, and times GET /files/?limit=100 for the
// first page and a deep page, next to the raw keyset query a page needs
// (the same SELECT through database/sql, every column read); then the other
// orderings and filters (by size, stored=false, removed=true) and a batch
// store of 100 files.
//
//	go run ./bench/restlist -n 1000000 -satchel /tmp/satchel
//	eval "$(bash scripts/pgserver.sh)"
//	go run ./bench/restlist -database-url "$SATCHEL_TEST_DATABASE_URL"
//
// With -rounds N the Satchel and raw-query measurements alternate N times
// (which goes first alternates too); the table gives medians over rounds.
// -results appends every round's p50/p99 as bench/cmd/compare lines; the
// load average is written to $LOADLOG, when set, around every round.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/bench/lib/stats"
	"github.com/satchel-project/satchel/sqlstore"
	_ "modernc.org/sqlite"
)

const (
	pub    = "benchpub"
	secret = "benchsecret"
)

// target is the database the files live in.
type target struct {
	dir string // data dir; holds satchel.db with SQLite
	dsn string // PostgreSQL DSN (with the benchmark's search_path), or ""
}

func (t target) name() string {
	if t.dsn != "" {
		return "pg"
	}
	return "sqlite"
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("restlist: ")
	n := flag.Int("n", 1000000, "files in the project")
	bin := flag.String("satchel", "", "satchel binary (built from ./cmd/satchel when empty)")
	dir := flag.String("dir", "", "data dir (kept between runs when given: filling is skipped if full)")
	dbURL := flag.String("database-url", "", "PostgreSQL DSN: the files go into the schema bench_restlist2_<n> there (kept between runs) instead of SQLite")
	reqs := flag.Int("requests", 2000, "requests per measurement")
	rounds := flag.Int("rounds", 1, "rounds of every measurement, Satchel and raw query alternating")
	results := flag.String("results", "", "append result lines (scenario side round metric value errors) to this file")
	flag.Parse()
	if *n < 200 || *reqs < 1 || *rounds < 1 {
		log.Fatal("-n must be at least 200, -requests and -rounds at least 1")
	}
	ctx := context.Background()
	if *dir == "" {
		d, err := os.MkdirTemp("", "restlist")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		log.Fatal(err)
	}
	t := target{dir: *dir}
	if *dbURL != "" {
		dsn, err := benchSchema(ctx, *dbURL, *n)
		if err != nil {
			log.Fatal(err)
		}
		t.dsn = dsn
	}
	if *bin == "" {
		*bin = filepath.Join(*dir, "satchel")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/satchel").CombinedOutput(); err != nil {
			log.Fatalf("build: %v\n%s", err, out)
		}
	}
	fill(ctx, t, *n)
	if err := run(ctx, t, *bin, *n, *reqs, *rounds, *results); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, t target, bin string, n, reqs, rounds int, results string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--addr", addr, "--data-dir", t.dir, "--rate-limit", "0", "--log-level", "warn"}
	if t.dsn != "" {
		args = append(args, "--database-url", t.dsn)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no server outlives a killed run
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 300 {
			return fmt.Errorf("satchel did not answer /healthz in 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(path string) error {
		version := "0.7"
		if p, ok := strings.CutSuffix(path, "&v=0.6"); ok { // ordering by size is not in 0.7
			path, version = p, "0.6"
		}
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", "application/vnd.uploadcare-v"+version+"+json")
		req.Header.Set("Authorization", "Uploadcare.Simple "+pub+":"+secret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %d %.200s", path, resp.StatusCode, b)
		}
		return nil
	}
	raw, err := openRaw(t)
	if err != nil {
		return err
	}
	defer raw.close()

	projectID, mid, err := midCursor(ctx, t, n)
	if err != nil {
		return err
	}
	fromMid := mid.Format("2006-01-02T15:04:05.000000Z")
	type row struct {
		name, scenario, side string
		fn                   func() error
	}
	rows := []row{
		{"GET /files/?limit=100 (first page)", "first", "satchel-rest", func() error { return get("/files/?limit=100") }},
		{"raw keyset query, first page", "first", "raw-keyset", func() error { return raw.page(ctx, projectID, nil) }},
		{"GET /files/?limit=100&from=<middle> (deep page)", "deep", "satchel-rest", func() error { return get("/files/?limit=100&from=" + url.QueryEscape(fromMid)) }},
		{"raw keyset query, deep page", "deep", "raw-keyset", func() error { return raw.page(ctx, projectID, &mid) }},
		{"GET /files/?limit=100&ordering=-datetime_uploaded", "", "", func() error { return get("/files/?limit=100&ordering=-datetime_uploaded") }},
		{"GET /files/?limit=100&ordering=-datetime_uploaded&from=<middle>", "", "", func() error {
			return get("/files/?limit=100&ordering=-datetime_uploaded&from=" + url.QueryEscape(fromMid))
		}},
		{"GET /files/?limit=100&stored=true&from=<middle>", "", "", func() error { return get("/files/?limit=100&stored=true&from=" + url.QueryEscape(fromMid)) }},
		{"GET /files/?limit=100&stored=false&ordering=-datetime_uploaded", "", "", func() error {
			return get("/files/?limit=100&stored=false&ordering=-datetime_uploaded")
		}},
		{"GET /files/?limit=100&removed=true (one file in 10,000 removed)", "", "", func() error { return get("/files/?limit=100&removed=true") }},
		// Sizes run from 1000 to 5999: 3500 is in the middle.
		{"GET /files/?limit=100&ordering=size&from=3500 (v0.6)", "", "", func() error { return get("/files/?limit=100&ordering=size&from=3500&v=0.6") }},
		{"GET /files/?limit=100&ordering=-size&stored=true (v0.6)", "", "", func() error { return get("/files/?limit=100&ordering=-size&stored=true&v=0.6") }},
	}
	var out *os.File
	if results != "" {
		if out, err = os.OpenFile(results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
			return err
		}
		defer out.Close()
	}
	label := fmt.Sprintf("list-%s-%dk", t.name(), n/1000)
	p50s := make([][]float64, len(rows))
	p99s := make([][]float64, len(rows))
	for r := 1; r <= rounds; r++ {
		if err := stats.RecordLoad(label, r, "before"); err != nil {
			return err
		}
		order := make([]int, len(rows))
		for i := range order {
			order[i] = i
		}
		if r%2 == 0 { // the raw query goes first in even rounds
			for i := 0; i+1 < 4; i += 2 {
				order[i], order[i+1] = order[i+1], order[i]
			}
		}
		for _, i := range order {
			d, errs, first := measure(reqs, rows[i].fn)
			if errs > 0 {
				log.Printf("round %d, %s: %d errors, first: %v", r, rows[i].name, errs, first)
			}
			p50, p99 := stats.Percentile(d, 0.50), stats.Percentile(d, 0.99)
			p50s[i], p99s[i] = append(p50s[i], p50), append(p99s[i], p99)
			if out != nil && rows[i].scenario != "" {
				sc := label + "-" + rows[i].scenario
				if _, err := fmt.Fprintf(out, "%s\t%s\t%d\tp50 ms\t%.4f\t%d\n%s\t%s\t%d\tp99 ms\t%.4f\t%d\n",
					sc, rows[i].side, r, p50, errs, sc, rows[i].side, r, p99, errs); err != nil {
					return err
				}
			}
		}
		if err := stats.RecordLoad(label, r, "after"); err != nil {
			return err
		}
	}
	fmt.Printf("files in project: %d, database: %s, %d requests per measurement, median of %d round(s)\n\n", n, t.name(), reqs, rounds)
	fmt.Println("| request | median | p99 |")
	fmt.Println("|---|---|---|")
	for i, rw := range rows {
		fmt.Printf("| %s | %.2f ms | %.2f ms |\n", rw.name, stats.Median(p50s[i]), stats.Median(p99s[i]))
	}
	// Batch store of 100 files (each request picks 100 new ones).
	ids, err := someIDs(ctx, t, projectID, 100*40)
	if err != nil {
		return err
	}
	if len(ids) < 100*40 {
		log.Printf("batch store skipped: only %d unstored files left (refill: remove the data)", len(ids))
		return nil
	}
	d, errs, first := measure(20, func() error {
		batch := ids[:100]
		ids = ids[100:]
		body, _ := json.Marshal(batch)
		req, _ := http.NewRequest("PUT", base+"/files/storage/", strings.NewReader(string(body)))
		req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Uploadcare.Simple "+pub+":"+secret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("batch store: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	if errs > 0 {
		return fmt.Errorf("batch store: %d errors, first: %v", errs, first)
	}
	fmt.Printf("| PUT /files/storage/ (100 unstored files) | %.2f ms | %.2f ms |\n", stats.Percentile(d, 0.5), stats.Percentile(d, 0.99))
	return nil
}

// measure runs fn n times after a warm-up and returns the sorted durations
// of the successful calls, the number of failed ones and the first error.
func measure(n int, fn func() error) ([]time.Duration, int, error) {
	for i := 0; i < 20 && i < n; i++ {
		fn() // warm up
	}
	d := make([]time.Duration, 0, n)
	errs := 0
	var first error
	for range n {
		t := time.Now()
		if err := fn(); err != nil {
			errs++
			if first == nil {
				first = err
			}
			continue
		}
		d = append(d, time.Since(t))
	}
	slices.Sort(d)
	return d, errs, first
}

// benchSchema creates the schema bench_restlist2_<n> in the PostgreSQL
// database at dsn unless it exists, and returns a DSN using it. It is kept
// between runs so that the files are inserted once.
func benchSchema(ctx context.Context, dsn string, n int) (string, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	schema := fmt.Sprintf("bench_restlist2_%d", n) // 2: the rows of benchFile
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, nil
}

func open(ctx context.Context, t target) *sqlstore.DB {
	var db *sqlstore.DB
	var err error
	if t.dsn != "" {
		db, err = sqlstore.OpenPostgres(ctx, t.dsn)
	} else {
		db, err = sqlstore.OpenSQLite(ctx, filepath.Join(t.dir, "satchel.db"))
	}
	if err != nil {
		log.Fatal(err)
	}
	return db
}

// fill creates the project and n files, unless already there: half
// stored, one in 10,000 removed, inserted in bulk (sqlstore.ImportFiles:
// 500 rows a statement, 50,000 a transaction) with the content info,
// metadata and tags uploads give their rows (benchFile).
func fill(ctx context.Context, t target, n int) {
	db := open(ctx, t)
	defer db.Close()
	p, err := db.ProjectByPublicKey(ctx, pub)
	if satchel.IsNotFound(err) {
		p = &satchel.Project{Name: "bench", PublicKey: pub, SecretKey: secret, Autostore: true}
		if err := db.CreateProject(ctx, p); err != nil {
			log.Fatal(err)
		}
	} else if err != nil {
		log.Fatal(err)
	}
	c, _ := db.FileCounts(ctx, p.ID)
	have := int(c.Stored + c.Unstored + c.Removed)
	start := time.Now().Add(-time.Duration(n) * time.Millisecond).UTC()
	t0 := time.Now()
	batch := make([]*satchel.File, 0, 50000)
	for have < n {
		batch = batch[:0]
		for len(batch) < cap(batch) && have < n {
			batch = append(batch, benchFile(p.ID, have, start))
			have++
		}
		if err := db.ImportFiles(ctx, batch); err != nil {
			log.Fatal(err)
		}
	}
	if time.Since(t0) > time.Second {
		log.Printf("filled %d files in %s (%s)", n, time.Since(t0).Round(time.Second), t.name())
	}
	if err := analyze(ctx, t); err != nil {
		log.Fatal(err)
	}
}

// benchFile is the i-th file of the benchmark's project, uploaded i ms
// after start, as an upload would have made it: mostly photos (the content
// info inspection gives a JPEG or PNG, EXIF orientation and date on some,
// DPI on most, a location on a few), some PDFs and videos; upload-widget
// metadata on a third and tags on a tenth; sizes from 1000 to 5999 bytes.
// Every second file is stored and one in 10,000 removed.
func benchFile(projectID int64, i int, start time.Time) *satchel.File {
	id := uuid.NewString()
	up := start.Add(time.Duration(i) * time.Millisecond)
	f := &satchel.File{UUID: id, ProjectID: projectID, Size: int64(1000 + i%5000), BlobKey: id,
		Checksum: fmt.Sprintf("sha256:%064x", i), IsReady: true, Uploaded: up, Source: "local"}
	switch k := i % 20; {
	case k < 16: // a photo
		f.IsImage, f.MimeType, f.OriginalFilename = true, "image/jpeg", fmt.Sprintf("IMG_%04d.jpg", i%10000)
		img := &satchel.ImageInfo{Width: 640 + 8*(i%400), Height: 480 + 6*(i%300), Format: "JPEG", ColorMode: "RGB", DPI: []float64{72, 72}}
		if k%4 == 1 {
			f.MimeType, f.OriginalFilename = "image/png", fmt.Sprintf("Screenshot %d.png", i%1000)
			img.Format, img.ColorMode, img.DPI = "PNG", "RGBA", nil
		}
		if k%4 == 0 {
			o := 1 + i%8
			dt := up.Add(-time.Hour).Format("2006-01-02T15:04:05")
			img.Orientation, img.DatetimeOriginal = &o, &dt
		}
		if k == 8 {
			img.GeoLocation = &satchel.GeoLocation{Latitude: 55.62 + float64(i%1000)/1e4, Longitude: 37.61 - float64(i%777)/1e4}
		}
		main, sub, _ := strings.Cut(f.MimeType, "/")
		f.ContentInfo = &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: f.MimeType, Type: main, Subtype: sub}, Image: img}
	case k < 19: // a document
		f.MimeType, f.OriginalFilename = "application/pdf", fmt.Sprintf("invoice-%d.pdf", i)
		f.ContentInfo = &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "application/pdf", Type: "application", Subtype: "pdf"}}
	default: // a video fetched from a URL
		f.MimeType, f.OriginalFilename, f.Source = "video/mp4", "clip.mp4", "url"
		f.SourceURL = fmt.Sprintf("https://media.example/clips/%d.mp4", i)
		d, br, abr, ch, sr := int64(12000+i%9000), int64(1200), int64(128), int64(2), int64(44100)
		f.ContentInfo = &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "video/mp4", Type: "video", Subtype: "mp4"},
			Video: &satchel.VideoInfo{Duration: &d, Format: "mp4", Bitrate: &br,
				Audio: []satchel.AudioStream{{Bitrate: &abr, Codec: "aac", SampleRate: &sr, Channels: &ch}},
				Video: []satchel.VideoStream{{Height: 720, Width: 1280, FrameRate: 29.97, Bitrate: &br, Codec: "h264"}}}}
	}
	f.Filename = strings.ReplaceAll(f.OriginalFilename, " ", "_")
	if i%3 == 0 {
		f.Metadata = map[string]string{"subsystem": "uploader", "user_id": fmt.Sprint(1000 + i%5000)}
	}
	if i%10 == 0 {
		f.Tags = []string{"gallery"}
	}
	switch {
	case i%10000 == 5000:
		f.Removed = &up
	case i%2 == 0:
		f.Stored = &up
	}
	return f
}

// analyze refreshes the planner's statistics of the files table, as a
// running database's autovacuum would: without them PostgreSQL plans a page
// of a freshly filled table as a scan of half of it and a sort.
func analyze(ctx context.Context, t target) error {
	if t.dsn == "" {
		return nil // SQLite's planner picks the index without statistics
	}
	db, err := sql.Open("pgx", t.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE files"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// midCursor returns the project's id and the upload time of the file in the
// middle of the upload order.
func midCursor(ctx context.Context, t target, n int) (int64, time.Time, error) {
	db := open(ctx, t)
	defer db.Close()
	p, err := db.ProjectByPublicKey(ctx, pub)
	if err != nil {
		return 0, time.Time{}, err
	}
	files, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 1, Desc: true})
	if err != nil || len(files) == 0 {
		return 0, time.Time{}, fmt.Errorf("no files (%v)", err)
	}
	return p.ID, files[0].Uploaded.Add(-time.Duration(n/2) * time.Millisecond), nil
}

func someIDs(ctx context.Context, t target, projectID int64, k int) ([]string, error) {
	db := open(ctx, t)
	defer db.Close()
	f := false
	files, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: projectID, Stored: &f, Limit: k})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(files))
	for i, f := range files {
		ids[i] = f.UUID
	}
	return ids, nil
}

// rawDB runs the keyset query of one page of 100 files straight through
// database/sql, the floor under GET /files/: the same WHERE and ORDER BY as
// the store's list query, every column of every row read.
type rawDB struct {
	db          *sql.DB
	first, deep *sql.Stmt
}

func openRaw(t target) (*rawDB, error) {
	driver, dsn, ph := "sqlite", "file:"+filepath.Join(t.dir, "satchel.db")+"?_pragma=busy_timeout(10000)", "?"
	if t.dsn != "" {
		driver, dsn, ph = "pgx", t.dsn, "$"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	arg := func(i int) string {
		if ph == "?" {
			return "?"
		}
		return fmt.Sprintf("$%d", i)
	}
	first, err := db.Prepare("SELECT * FROM files WHERE project_id = " + arg(1) + " AND removed IS NULL ORDER BY uploaded ASC, uuid ASC LIMIT 100")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("raw first-page query: %w", err)
	}
	deep, err := db.Prepare("SELECT * FROM files WHERE project_id = " + arg(1) + " AND removed IS NULL AND uploaded > " + arg(2) + " ORDER BY uploaded ASC, uuid ASC LIMIT 100")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("raw deep-page query: %w", err)
	}
	return &rawDB{db: db, first: first, deep: deep}, nil
}

func (r *rawDB) close() { r.db.Close() }

// page runs the first-page query, or the deep one after from.
func (r *rawDB) page(ctx context.Context, projectID int64, from *time.Time) error {
	var rows *sql.Rows
	var err error
	if from == nil {
		rows, err = r.first.QueryContext(ctx, projectID)
	} else {
		rows, err = r.deep.QueryContext(ctx, projectID, from.UnixMicro())
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 100 {
		return fmt.Errorf("raw query returned %d rows, want 100", n)
	}
	return nil
}
