// Command gostatic is the plain Go reference of Satchel's warm and
// original-file benchmarks (bench/cdn/README.md). By default it is
// net/http's FileServer on a directory, nothing else: it shows how much of
// the gap between Satchel and nginx is Go's HTTP stack and how much is
// Satchel's own per-request work. With -mem it reads the directory's files
// into memory at start and answers each GET with one Write of the bytes
// (headers and body then leave in one write(2), no open/stat/sendfile):
// the fastest a Go server can hand out a small cached variant. The handlers
// live in package static, which the cdn package's Go benchmarks use too.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/satchel-project/satchel/bench/cdn/gostatic/static"
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
		mux.Handle("/", static.FileServer(*root))
		log.Fatal(http.ListenAndServe(*addr, mux))
	}
	h, err := static.Memory(*root)
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /", h)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
