// Command restlist measures REST file listing at scale: it fills a project
// with N files (through the store: SQLite in the data dir, or PostgreSQL
// with -database-url), starts `satchel serve` on that data, and times
// GET /files/?limit=100 in every ordering and filter, from the first page
// and from a cursor in the middle, plus a batch store of 100 files.
//
//	go run ./bench/restlist -n 1000000 -satchel /tmp/satchel
//	go run ./bench/restlist -n 1000000 -database-url postgres://… -dir /tmp/rl-pg
package main

import (
	"context"
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
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/sqlstore"
)

const (
	pub    = "benchpub"
	secret = "benchsecret"
)

func main() {
	n := flag.Int("n", 1000000, "files in the project")
	bin := flag.String("satchel", "", "satchel binary (built from ./cmd/satchel when empty)")
	dir := flag.String("dir", "", "data dir (kept between runs when given: filling is skipped if full)")
	reqs := flag.Int("requests", 2000, "requests per measurement")
	dbURL := flag.String("database-url", "", "PostgreSQL DSN (SQLite in the data dir when empty)")
	flag.Parse()
	ctx := context.Background()
	if *dir == "" {
		d, err := os.MkdirTemp("", "restlist")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if *bin == "" {
		*bin = filepath.Join(*dir, "satchel")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/satchel").CombinedOutput(); err != nil {
			log.Fatalf("build: %v\n%s", err, out)
		}
	}
	dbDSN = *dbURL
	fill(ctx, *dir, *n)

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--addr", addr, "--data-dir", *dir, "--rate-limit", "0", "--log-level", "warn"}
	if dbDSN != "" {
		args = append(args, "--database-url", dbDSN)
	}
	cmd := exec.Command(*bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			log.Fatal("server did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(path string) []byte {
		version := "0.7"
		if p, ok := strings.CutSuffix(path, "&v=0.6"); ok {
			path, version = p, "0.6"
		}
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", "application/vnd.uploadcare-v"+version+"+json")
		req.Header.Set("Authorization", "Uploadcare.Simple "+pub+":"+secret)
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			log.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	// A deep page: follow the cursor of the file in the middle.
	var first struct {
		Next  string `json:"next"`
		Total int    `json:"total"`
	}
	json.Unmarshal(get("/files/?limit=100"), &first)
	mid, midSize := midCursor(ctx, *dir, *n)
	fmt.Printf("files in project: %d (total reported %d)\n\n", *n, first.Total)
	fmt.Println("| request | median | p99 |")
	fmt.Println("|---|---|---|")
	for _, c := range []struct{ name, path string }{
		{"GET /files/?limit=100 (first page)", "/files/?limit=100"},
		{"GET /files/?limit=100&from=<middle> (deep page)", "/files/?limit=100&from=" + url.QueryEscape(mid)},
		{"GET /files/?limit=100&ordering=-datetime_uploaded", "/files/?limit=100&ordering=-datetime_uploaded"},
		{"GET /files/?limit=100&ordering=-datetime_uploaded&from=<middle>", "/files/?limit=100&ordering=-datetime_uploaded&from=" + url.QueryEscape(mid)},
		{"GET /files/?limit=100&stored=true&from=<middle>", "/files/?limit=100&stored=true&from=" + url.QueryEscape(mid)},
		{"GET /files/?limit=100&stored=false&ordering=-datetime_uploaded", "/files/?limit=100&stored=false&ordering=-datetime_uploaded"},
		{"GET /files/?limit=100&removed=true (few removed files)", "/files/?limit=100&removed=true"},
		{"GET /files/?limit=100&ordering=size&from=<middle> (v0.6)", "/files/?limit=100&ordering=size&from=" + url.QueryEscape(midSize) + "&v=0.6"},
		{"GET /files/?limit=100&ordering=-size&stored=true (v0.6)", "/files/?limit=100&ordering=-size&stored=true&v=0.6"},
	} {
		d := measure(*reqs, func() { get(c.path) })
		fmt.Printf("| %s | %s | %s |\n", c.name, pct(d, 50), pct(d, 99))
	}
	// Batch store of 100 files (each round picks 100 new ones).
	ids := someIDs(ctx, *dir, 100*40)
	d := measure(20, func() {
		batch := ids[:100]
		ids = ids[100:]
		body, _ := json.Marshal(batch)
		req, _ := http.NewRequest("PUT", base+"/files/storage/", strings.NewReader(string(body)))
		req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Uploadcare.Simple "+pub+":"+secret)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			log.Fatalf("batch store: %v %v", err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
	fmt.Printf("| PUT /files/storage/ (100 unstored files) | %s | %s |\n", pct(d, 50), pct(d, 99))
}

func measure(n int, fn func()) []time.Duration {
	for i := 0; i < 20 && i < n; i++ {
		fn() // warm up
	}
	d := make([]time.Duration, n)
	for i := range d {
		t := time.Now()
		fn()
		d[i] = time.Since(t)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}

func pct(d []time.Duration, p int) string {
	i := len(d) * p / 100
	if i >= len(d) {
		i = len(d) - 1
	}
	return fmt.Sprintf("%.2f ms", float64(d[i].Microseconds())/1000)
}

// dbDSN is the PostgreSQL database of the run ("": SQLite in the data dir).
var dbDSN string

func open(ctx context.Context, dir string) *sqlstore.DB {
	var db *sqlstore.DB
	var err error
	if dbDSN != "" {
		db, err = sqlstore.OpenPostgres(ctx, dbDSN)
	} else {
		db, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "satchel.db"))
	}
	if err != nil {
		log.Fatal(err)
	}
	return db
}

// fill creates the project and n files (half stored; one in 10,000
// removed), unless already there.
func fill(ctx context.Context, dir string, n int) {
	db := open(ctx, dir)
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
	start := time.Now().Add(-time.Duration(n) * time.Millisecond)
	t0 := time.Now()
	for have < n {
		batch := make([]*satchel.File, 0, 2000)
		for i := 0; i < 2000 && have < n; i++ {
			id := uuid.NewString()
			up := start.Add(time.Duration(have) * time.Millisecond).UTC()
			f := &satchel.File{UUID: id, ProjectID: p.ID, Size: int64(1000 + have%5000), MimeType: "image/jpeg", OriginalFilename: "photo.jpg", Filename: "photo.jpg",
				BlobKey: id, Checksum: "sha256:00", IsImage: true, IsReady: true, Uploaded: up,
				ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/jpeg", Type: "image", Subtype: "jpeg"}, Image: &satchel.ImageInfo{Width: 640, Height: 480, Format: "JPEG", ColorMode: "RGB"}}}
			switch {
			case have%10000 == 5000:
				f.Removed = &up
			case have%2 == 0:
				f.Stored = &up
			}
			batch = append(batch, f)
			have++
		}
		if err := db.CreateFiles(ctx, batch, nil); err != nil {
			log.Fatal(err)
		}
	}
	if time.Since(t0) > time.Second {
		log.Printf("filled %d files in %s", n, time.Since(t0).Round(time.Second))
	}
}

// midCursor is the cursor of the file in the middle of the upload order,
// and of the size order.
func midCursor(ctx context.Context, dir string, n int) (string, string) {
	db := open(ctx, dir)
	defer db.Close()
	p, _ := db.ProjectByPublicKey(ctx, pub)
	// The file in the middle of the upload order.
	files, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 1, Desc: true})
	if err != nil || len(files) == 0 {
		log.Fatal("no files")
	}
	mid := files[0].Uploaded.Add(-time.Duration(n/2) * time.Millisecond)
	// Sizes run from 1000 to 5999: 3500 is in the middle.
	return mid.Format("2006-01-02T15:04:05.000000Z"), "3500_" + files[0].UUID
}

func someIDs(ctx context.Context, dir string, k int) []string {
	db := open(ctx, dir)
	defer db.Close()
	p, _ := db.ProjectByPublicKey(ctx, pub)
	f := false
	files, err := db.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Stored: &f, Limit: k})
	if err != nil {
		log.Fatal(err)
	}
	ids := make([]string, len(files))
	for i, f := range files {
		ids[i] = f.UUID
	}
	return ids
}
