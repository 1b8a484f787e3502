// Package static holds the plain net/http reference servers of the CDN
// benchmarks (bench/cdn/README.md): what Go's HTTP stack does with the same
// bytes and no per-request work of Satchel's own. The gostatic command
// serves them; the cdn package's Go benchmarks call them side by side with
// Satchel's handler.
package static

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

// FileServer is net/http's FileServer on root, with the Content-Type set up
// front as Satchel and nginx do, so ServeContent does not sniff.
func FileServer(root string) http.Handler {
	fsrv := http.FileServer(http.Dir(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = TypeOf(r.URL.Path)
		fsrv.ServeHTTP(w, r)
	})
}

type file struct {
	body  []byte
	ctype []string
	size  []string
}

// Memory reads root's regular files into memory and answers each GET of
// "/<name>" with one Write of the bytes (headers and body then leave in one
// write(2), no open/stat/sendfile): the fastest a net/http handler can hand
// out a small cached file.
func Memory(root string) (http.Handler, error) {
	files := map[string]*file{}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name()))
		if err != nil {
			return nil, err
		}
		files["/"+e.Name()] = &file{body: b, ctype: TypeOf(e.Name()), size: []string{strconv.Itoa(len(b))}}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Content-Type"] = f.ctype
		h["Content-Length"] = f.size
		w.Write(f.body)
	}), nil
}

// TypeOf is the Content-Type of a served name: JPEG for .jpg, bytes otherwise.
func TypeOf(name string) []string {
	if filepath.Ext(name) == ".jpg" {
		return []string{"image/jpeg"}
	}
	return []string{"application/octet-stream"}
}
