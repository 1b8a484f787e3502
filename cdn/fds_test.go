package cdn_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/cdn"
)

// TestOpenFilesAnswersMatch serves originals over the hot item bound through
// the open-file cache (the second and third rounds reuse its descriptors)
// and through a handler without it: status, every header and the body are
// the same, for plain GETs and HEADs, ranges and preconditions, in any
// order (a range leaves the descriptor mid-file; the next answer must not
// start there).
func TestOpenFilesAnswersMatch(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.HotItemMax = 1000 })
	cold := coldHandler(t, e)
	cold.OpenFiles = -1
	ref := do(cold, "GET", e.largeURL, nil)
	tag, lastMod := ref.Header().Get("ETag"), ref.Header().Get("Last-Modified")
	if tag == "" || lastMod == "" {
		t.Fatalf("no ETag or Last-Modified: %v", ref.Header())
	}
	cases := []map[string]string{
		{"Range": "bytes=3-9"},
		nil,
		{"Range": "bytes=0-1,5-6"},
		{"Range": "bytes=-100"},
		{"Range": "bytes=999999999-"},
		{"If-None-Match": tag},
		{"If-None-Match": `"other"`},
		{"If-Modified-Since": lastMod},
		{"If-Match": `"other"`},
		{"Range": "bytes=1-2", "If-Range": `"other"`},
		{"Range": "bytes=1-2", "If-Range": tag},
	}
	for _, url := range []string{e.largeURL, e.smallURL, e.smallURL + "-/inline/yes/", e.largeURL + "renamed.txt"} {
		for round := range 3 {
			for _, method := range []string{"GET", "HEAD"} {
				for _, hdr := range cases {
					want, got := do(cold, method, url, hdr), do(e.h, method, url, hdr)
					for _, r := range []*httptest.ResponseRecorder{got, want} {
						if ct, _, ok := strings.Cut(r.Header().Get("Content-Type"), "; boundary="); ok {
							r.Header().Set("Content-Type", ct)
						}
					}
					if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) {
						t.Errorf("%s %s %v (round %d): %d %v, want %d %v", method, url, hdr, round, got.Code, got.Header(), want.Code, want.Header())
					}
					if !strings.Contains(hdr["Range"], ",") && got.Body.String() != want.Body.String() {
						t.Errorf("%s %s %v (round %d): body differs (%d vs %d bytes)", method, url, hdr, round, got.Body.Len(), want.Body.Len())
					}
				}
			}
		}
	}
	if files, idle := e.h.OpenFilesLen(); files != 2 || idle == 0 {
		t.Errorf("open-file cache knows %d files with %d descriptors, want 2 and some", files, idle)
	}
	if n, _ := e.h.HotCacheLen(); n != 0 {
		t.Errorf("hot cache holds %d answers over its item bound", n)
	}
}

// TestOpenFilesPurge deletes a file whose descriptors are kept: the node
// that deletes it (Purge) closes them at once; another node closes its own
// at its next request once its metadata cache entry expires (here at once,
// with a TTL of 1 ns). Neither serves the file afterwards.
func TestOpenFilesPurge(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.MetaCacheTTL = time.Hour })
	other := coldHandler(t, e)
	other.MetaCacheTTL = time.Nanosecond
	for _, h := range []*cdn.Handler{e.h, other} {
		for range 2 {
			if w := do(h, "GET", e.largeURL, nil); w.Code != 200 || w.Body.Len() != len(e.large) {
				t.Fatalf("before the delete: %d, %d bytes", w.Code, w.Body.Len())
			}
		}
		if files, idle := h.OpenFilesLen(); files != 1 || idle != 1 {
			t.Fatalf("before the delete: %d files, %d descriptors kept; want 1, 1", files, idle)
		}
	}
	id := strings.Trim(e.largeURL, "/")
	if err := e.db.RemoveFile(context.Background(), id, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	e.h.Purge(id)
	if files, idle := e.h.OpenFilesLen(); files != 0 || idle != 0 {
		t.Errorf("after the purge: %d files, %d descriptors kept", files, idle)
	}
	for _, h := range []*cdn.Handler{e.h, other} {
		if w := do(h, "GET", e.largeURL, nil); w.Code != 404 {
			t.Errorf("after the delete: %d, want 404", w.Code)
		}
		if w := do(h, "GET", e.largeURL, map[string]string{"Range": "bytes=0-9"}); w.Code != 404 {
			t.Errorf("range after the delete: %d, want 404", w.Code)
		}
	}
	if files, idle := other.OpenFilesLen(); files != 0 || idle != 0 {
		t.Errorf("other node keeps %d files, %d descriptors of a deleted file", files, idle)
	}
}
