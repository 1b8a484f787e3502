package cdn

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFDCacheBounds checks the cache's two bounds (descriptors over all
// files, descriptors per file), that a lent descriptor comes back rewound,
// and that one lent while its file is purged is closed when given back.
func TestFDCacheBounds(t *testing.T) {
	dir := t.TempDir()
	paths := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		paths[id] = filepath.Join(dir, id)
		if err := os.WriteFile(paths[id], []byte("body of "+id), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newFDCache(12)
	take := func(id string) *keptFile {
		t.Helper()
		f, err := c.take(id, "key-"+id, paths[id])
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Twenty overlapping requests for one file: at most maxFreePerFile stay.
	var lent []*keptFile
	for range 20 {
		lent = append(lent, take("a"))
	}
	for _, f := range lent {
		c.give(f)
	}
	if files, idle := c.len(); files != 1 || idle != maxFreePerFile {
		t.Fatalf("after 20 overlapping requests: %d files, %d descriptors; want 1, %d", files, idle, maxFreePerFile)
	}
	// A descriptor read to its end comes back at offset 0.
	f := take("a")
	if _, err := io.ReadAll(f); err != nil {
		t.Fatal(err)
	}
	c.give(f)
	f = take("a")
	if b, err := io.ReadAll(f); err != nil || string(b) != "body of a" {
		t.Fatalf("second loan reads %q, %v", b, err)
	}
	c.give(f)
	// Other files push the least recently used one's descriptors out.
	for _, id := range []string{"b", "c"} {
		var fs []*keptFile
		for range 5 {
			fs = append(fs, take(id))
		}
		for _, f := range fs {
			c.give(f)
		}
	}
	if _, idle := c.len(); idle > 12 {
		t.Errorf("%d descriptors wait, bound 12", idle)
	}
	if e := c.files["a"]; e != nil {
		t.Errorf("least recently used file kept %d descriptors past the bound", len(e.free))
	}
	// Purged while lent: closed when given back, not kept.
	f = take("b")
	c.purge("b")
	c.give(f)
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("descriptor of a purged file left open (close: %v)", err)
	}
	if e := c.files["b"]; e != nil {
		t.Error("purged file still has an entry")
	}
	// Off: nothing is kept.
	off := newFDCache(0)
	f, err := off.take("a", "key-a", paths["a"])
	if err != nil {
		t.Fatal(err)
	}
	off.give(f)
	if files, idle := off.len(); files != 0 || idle != 0 {
		t.Errorf("cache turned off keeps %d files, %d descriptors", files, idle)
	}
}
