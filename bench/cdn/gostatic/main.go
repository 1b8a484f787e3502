// Command gostatic is the plain Go reference of Satchel's warm and
// original-file benchmarks (bench/cdn/README.md). By default it is
// net/http's FileServer on a directory, nothing else: it shows how much of
// the gap between Satchel and nginx is Go's HTTP stack and how much is
// Satchel's own per-request work. With -mem it reads the directory's files
// into memory at start and answers each GET with one Write of the bytes
// (headers and body then leave in one write(2), no open/stat/sendfile):
// the fastest a Go server can hand out a small cached variant.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18195", "listen address")
	root := flag.String("root", "", "directory to serve")
	mem := flag.Bool("mem", false, "serve the files from memory with one Write")
	flag.Parse()
	if *root == "" {
		log.Fatal("-root is required")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	if !*mem {
		fsrv := http.FileServer(http.Dir(*root))
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			// Set the type as Satchel and nginx do, so ServeContent does not sniff.
			w.Header()["Content-Type"] = typeOf(r.URL.Path)
			fsrv.ServeHTTP(w, r)
		})
		log.Fatal(http.ListenAndServe(*addr, mux))
	}
	type file struct {
		body  []byte
		ctype []string
		size  []string
	}
	files := map[string]*file{}
	entries, err := os.ReadDir(*root)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(*root, e.Name()))
		if err != nil {
			log.Fatal(err)
		}
		files["/"+e.Name()] = &file{body: b, ctype: typeOf(e.Name()), size: []string{strconv.Itoa(len(b))}}
	}
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Content-Type"] = f.ctype
		h["Content-Length"] = f.size
		w.Write(f.body)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}

func typeOf(name string) []string {
	if filepath.Ext(name) == ".jpg" {
		return []string{"image/jpeg"}
	}
	return []string{"application/octet-stream"}
}
