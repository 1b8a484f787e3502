// Command vipsserver is the stand-in peer of Satchel's cold-resize
// benchmark (bench/cdn/README.md): the plainest Go + libvips thumbnail
// server. It answers
//
//	GET /thumb?path=<file under -root>&w=400&h=300&format=jpeg|webp
//
// with vips_thumbnail on the file (libvips picks its own shrink-on-load),
// then vips_jpegsave_buffer or vips_webpsave_buffer with the encoder
// settings Satchel uses (Q 80, metadata stripped, optimised Huffman tables
// for JPEG, effort 4 for WebP). libvips runs one thread per operation with
// its operation cache off (so a repeated request is computed again), and at
// most -workers requests are processed at once.
package main

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <vips/vips.h>

static int vs_init(void) {
	if (VIPS_INIT("vipsserver"))
		return -1;
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	return 0;
}

static int vs_thumb(const char *path, int w, int h, int webp, int q,
	void **buf, size_t *len) {
	VipsImage *t;
	int r;
	if (vips_thumbnail(path, &t, w, "height", h, NULL))
		return -1;
	if (webp)
		r = vips_webpsave_buffer(t, buf, len, "Q", q, "effort", 4,
			"strip", TRUE, NULL);
	else
		r = vips_jpegsave_buffer(t, buf, len, "Q", q, "strip", TRUE,
			"optimize_coding", TRUE, NULL);
	g_object_unref(t);
	return r;
}

static char *vs_error(void) {
	char *s = g_strdup(vips_error_buffer());
	vips_error_clear();
	return s;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18190", "listen address")
	root := flag.String("root", "", "directory the served paths must be under")
	workers := flag.Int("workers", 4, "requests processed at once")
	quality := flag.Int("q", 80, "JPEG and WebP quality")
	flag.Parse()
	if *root == "" {
		log.Fatal("-root is required")
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		log.Fatal(err)
	}
	if C.vs_init() != 0 {
		log.Fatal("libvips did not start")
	}
	slots := make(chan struct{}, max(1, *workers))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /thumb", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := filepath.Clean(q.Get("path"))
		if !filepath.IsAbs(p) || !strings.HasPrefix(p, absRoot+string(filepath.Separator)) {
			http.Error(w, "path outside root", http.StatusForbidden)
			return
		}
		tw, _ := strconv.Atoi(q.Get("w"))
		th, _ := strconv.Atoi(q.Get("h"))
		if tw < 1 || th < 1 || tw > 10000 || th > 10000 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		webp := C.int(0)
		ctype := "image/jpeg"
		switch q.Get("format") {
		case "", "jpeg":
		case "webp":
			webp, ctype = 1, "image/webp"
		default:
			http.Error(w, "bad format", http.StatusBadRequest)
			return
		}
		slots <- struct{}{}
		body, err := thumb(p, tw, th, webp, *quality)
		<-slots
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	log.Printf("vipsserver on %s, root %s, %d workers", *addr, absRoot, *workers)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

func thumb(path string, w, h int, webp C.int, q int) ([]byte, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var buf unsafe.Pointer
	var n C.size_t
	if C.vs_thumb(cpath, C.int(w), C.int(h), webp, C.int(q), &buf, &n) != 0 {
		msg := C.vs_error()
		defer C.g_free(C.gpointer(unsafe.Pointer(msg)))
		return nil, fmt.Errorf("thumbnail: %s", C.GoString(msg))
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}
