// Command ceiling is the smallest server that does what Satchel's POST /base/
// must do for one small upload, used as the ceiling in bench/run.sh: parse
// the multipart/form-data body with r.MultipartReader(), write the file into
// sharded directories (blobs/ab/cd/<uuid>), fsync it, and insert one row into
// SQLite (WAL, synchronous=FULL). With -durable=false it neither fsyncs the
// file nor runs SQLite with synchronous=FULL (NORMAL instead), for reference.
//
// PUT /put/ is the same for one large raw body (the tus PATCH of the large
// scenarios, made durable): the body is streamed into a sharded file, which is
// fsynced (with -durable) before the row is inserted.
//
// It has no authentication, no validation, no metadata and no events: any
// work Satchel does beyond this is the price of its features.
package main

import (
	"bufio"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address")
	dir := flag.String("dir", "", "data directory")
	durable := flag.Bool("durable", true, "fsync every file and run SQLite with synchronous=FULL")
	flag.Parse()
	if *dir == "" {
		log.Fatal("ceiling: -dir is required")
	}
	if err := os.MkdirAll(filepath.Join(*dir, "blobs"), 0o750); err != nil {
		log.Fatal(err)
	}
	sync := "FULL"
	if !*durable {
		sync = "NORMAL"
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(*dir, "ceiling.db")+
		"?_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_pragma=busy_timeout(10000)")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS files (
		uuid TEXT PRIMARY KEY, filename TEXT NOT NULL, size INTEGER NOT NULL, uploaded INTEGER NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	s := &server{root: filepath.Join(*dir, "blobs"), durable: *durable, db: db}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /base/", s.upload)
	mux.HandleFunc("PUT /put/", s.put)
	hs := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	log.Printf("ceiling listening on %s (durable=%v)", *addr, *durable)
	log.Fatal(hs.ListenAndServe())
}

type server struct {
	root    string
	durable bool
	db      *sql.DB
}

// Copy buffers and file writers are pooled: a small upload allocates little.
var (
	bufs    = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
)

func (s *server) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<30+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var id, name string
	var size int64
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if p.FileName() == "" {
			io.Copy(io.Discard, io.LimitReader(p, 4096)) // a form field
			continue
		}
		if id != "" {
			http.Error(w, "one file per request", http.StatusBadRequest)
			return
		}
		id, name = uuid.NewString(), p.FileName()
		if size, err = s.write(id, p); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if id == "" {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	if _, err := s.db.ExecContext(r.Context(), `INSERT INTO files (uuid, filename, size, uploaded) VALUES (?, ?, ?, ?)`,
		id, name, size, time.Now().UnixMilli()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"file\":%q}", id)
}

func (s *server) put(w http.ResponseWriter, r *http.Request) {
	id := uuid.NewString()
	size, err := s.write(id, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if _, err := s.db.ExecContext(r.Context(), `INSERT INTO files (uuid, filename, size, uploaded) VALUES (?, ?, ?, ?)`,
		id, "put.bin", size, time.Now().UnixMilli()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"file\":%q}", id)
}

// write stores one file at blobs/ab/cd/<id>, through a 64 KiB buffer (a
// multipart part hands over at most 4 KiB per Read).
func (s *server) write(id string, src io.Reader) (int64, error) {
	dir := filepath.Join(s.root, id[0:2], id[2:4])
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, err
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(f)
	defer func() { bw.Reset(nil); writers.Put(bw) }()
	// struct{io.Writer} hides bufio's ReadFrom, so the copy fills the buffer.
	n, err := io.CopyBuffer(struct{ io.Writer }{bw}, src, *bp)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && s.durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return n, err
}
