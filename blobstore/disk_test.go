package blobstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/blobstore/blobtest"
)

func TestDiskConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobstore.Bucket {
		d, err := blobstore.OpenDisk(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestDiskCleansTemporaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := blobstore.OpenDisk(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "tmp", "leftover")
	os.WriteFile(stale, []byte("x"), 0o600)
	if _, err := blobstore.OpenDisk(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("temporary survived reopen: %v", err)
	}
}

// blockingReader hands out n bytes, the second half only once open is closed.
type blockingReader struct {
	n, pos  int
	reached chan struct{}
	open    chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.pos == r.n/2 {
		close(r.reached)
		<-r.open
	}
	if r.pos == r.n {
		return 0, io.EOF
	}
	end := r.n
	if r.pos < r.n/2 {
		end = r.n / 2
	}
	k := min(len(p), end-r.pos)
	for i := range p[:k] {
		p[i] = 'w'
	}
	r.pos += k
	return k, nil
}

// A disk upload is not published while a part is being written into it, and
// a write that waited for the completion finds the upload gone.
func TestDiskCompleteFencesPartWrites(t *testing.T) {
	ctx := context.Background()
	d, err := blobstore.OpenDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const key, size = "0f1e2d3c-aaaa-4bbb-8ccc-000000000009", 1 << 20
	id, err := d.StartMultipart(ctx, key, size)
	if err != nil {
		t.Fatal(err)
	}
	r := &blockingReader{n: size / 2, reached: make(chan struct{}), open: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := d.WritePart(ctx, id, blobstore.PartWrite{Off: 0, Length: size / 2, InPlace: true}, r)
		done <- err
	}()
	<-r.reached
	if err := d.CompleteMultipart(ctx, id, key, nil); !errors.Is(err, blobstore.ErrPartBusy) {
		t.Fatalf("complete during a part write: %v, want ErrPartBusy", err)
	}
	close(r.open)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := d.WritePart(ctx, id, blobstore.PartWrite{Off: size / 2, Length: size / 2, InPlace: true}, bytes.NewReader(bytes.Repeat([]byte{'v'}, size/2))); err != nil {
		t.Fatal(err)
	}
	if err := d.CompleteMultipart(ctx, id, key, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WritePart(ctx, id, blobstore.PartWrite{Off: 0, Length: size / 2, InPlace: true}, bytes.NewReader(make([]byte, size/2))); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("write after complete: %v, want ErrNotFound", err)
	}
	b, err := os.ReadFile(filepath.Join(mustLocalPath(t, d, key)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, append(bytes.Repeat([]byte{'w'}, size/2), bytes.Repeat([]byte{'v'}, size/2)...)) {
		t.Fatal("completed bytes differ")
	}
}

func mustLocalPath(t *testing.T, d *blobstore.Disk, key string) string {
	t.Helper()
	p, ok := d.LocalPath(key)
	if !ok {
		t.Fatalf("no local path for %s", key)
	}
	return p
}

// Parts whose offsets and lengths are or are not multiples of the block
// size (the disk writes whole blocks of aligned parts with direct I/O and the
// rest through the page cache) all land where they belong; a body one byte
// short or long is refused with ErrPartSize and then written again.
func TestDiskPartAlignments(t *testing.T) {
	ctx := context.Background()
	d, err := blobstore.OpenDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		part, size int
	}{
		{"aligned parts, unaligned end", 3 << 20, 3*(3<<20) + 5000},
		{"aligned parts and end", 1 << 20, 4 << 20},
		{"unaligned parts", 1<<20 + 100, 3*(1<<20) + 777},
		{"parts longer than a write", 2<<20 + 8192, 2 * (2<<20 + 8192)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "0f1e2d3c-aaaa-4bbb-8ccc-" + fmt.Sprintf("%012x", tc.size)
			data := make([]byte, tc.size)
			rand.Read(data)
			id, err := d.StartMultipart(ctx, key, int64(tc.size))
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off < tc.size; off += tc.part {
				end := min(off+tc.part, tc.size)
				pw := blobstore.PartWrite{Off: int64(off), Length: int64(end - off), InPlace: true}
				short := bytes.NewReader(data[off : end-1])
				if _, err := d.WritePart(ctx, id, pw, short); !errors.Is(err, blobstore.ErrPartSize) {
					t.Fatalf("part at %d one byte short: %v, want ErrPartSize", off, err)
				}
				long := io.MultiReader(bytes.NewReader(data[off:end]), strings.NewReader("x"))
				if _, err := d.WritePart(ctx, id, pw, long); !errors.Is(err, blobstore.ErrPartSize) {
					t.Fatalf("part at %d one byte long: %v, want ErrPartSize", off, err)
				}
				if _, err := d.WritePart(ctx, id, pw, bytes.NewReader(data[off:end])); err != nil {
					t.Fatalf("part at %d: %v", off, err)
				}
			}
			if err := d.CompleteMultipart(ctx, id, key, nil); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(mustLocalPath(t, d, key))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("completed bytes differ")
			}
		})
	}
}

// A blob being written leaves no file behind when aborted, is not visible
// under any name before Commit, and commits into a shard directory that was
// removed while it was written (the bucket remembers which shards exist).
func TestDiskWriterLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := blobstore.OpenDisk(root)
	if err != nil {
		t.Fatal(err)
	}
	files := func(sub string) []string {
		var out []string
		filepath.WalkDir(filepath.Join(root, sub), func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	const key = "0f1e2d3c-aaaa-4bbb-8ccc-00000000000a"
	w, err := d.NewWriter(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if fs := files(""); len(fs) != 0 {
		t.Fatalf("aborted blob left %v", fs)
	}
	w, err = d.NewWriter(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	if fs := files("blobs"); len(fs) != 0 {
		t.Fatalf("blob in progress is visible as %v", fs)
	}
	if err := os.RemoveAll(filepath.Join(root, "blobs", key[:2])); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("commit into a removed shard: %v", err)
	}
	if b, err := os.ReadFile(mustLocalPath(t, d, key)); err != nil || string(b) != "hello" {
		t.Fatalf("committed blob: %q %v", b, err)
	}
	// The next blob of that shard, after it is removed again.
	os.RemoveAll(filepath.Join(root, "blobs", key[:2]))
	const key2 = "0f1e2d3c-aaaa-4bbb-8ccc-00000000000b"
	w, err = d.NewWriter(ctx, key2)
	if err != nil {
		t.Fatalf("new blob in a removed shard: %v", err)
	}
	w.Write([]byte("again"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fs := files(""); len(fs) != 1 || filepath.Base(fs[0]) != key2 {
		t.Fatalf("files after commit: %v", fs)
	}
	// Committing over an existing blob replaces it, as a rename would.
	w, _ = d.NewWriter(ctx, key2)
	w.Write([]byte("replaced"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(mustLocalPath(t, d, key2)); string(b) != "replaced" {
		t.Fatalf("replaced blob: %q", b)
	}
	if fs := files(""); len(fs) != 1 {
		t.Fatalf("files after replace: %v", fs)
	}
}

// Blobs that earlier versions wrote one level deeper (blobs/ab/cd/<key>)
// are still read, listed, found on disk and deleted; new blobs go to
// blobs/ab/<key>.
func TestDiskReadsOldLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	const old, fresh = "0f1e2d3c-aaaa-4bbb-8ccc-0000000000a1", "0f1e2d3c-aaaa-4bbb-8ccc-0000000000a2"
	oldPath := filepath.Join(root, "blobs", old[:2], old[2:4], old)
	if err := os.MkdirAll(filepath.Dir(oldPath), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldPath, []byte("old bytes"), 0o640); err != nil {
		t.Fatal(err)
	}
	d, err := blobstore.OpenDisk(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.NewWriter(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("new bytes"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if p := mustLocalPath(t, d, fresh); p != filepath.Join(root, "blobs", fresh[:2], fresh) {
		t.Errorf("new blob at %s", p)
	}
	if p := mustLocalPath(t, d, old); p != oldPath {
		t.Errorf("old blob found at %s, want %s", p, oldPath)
	}
	for key, want := range map[string]string{old: "old bytes", fresh: "new bytes"} {
		r, err := d.Open(ctx, key)
		if err != nil {
			t.Fatalf("open %s: %v", key, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != want || r.Size() != int64(len(want)) {
			t.Errorf("blob %s: %q (size %d), want %q", key, b, r.Size(), want)
		}
		f, err := blobstore.OpenDiskBlob(root, key)
		if err != nil {
			t.Fatalf("OpenDiskBlob %s: %v", key, err)
		}
		b, _ = io.ReadAll(f)
		f.Close()
		if string(b) != want {
			t.Errorf("OpenDiskBlob %s: %q, want %q", key, b, want)
		}
	}
	var listed []string
	if err := d.List(ctx, time.Time{}, func(k string) error { listed = append(listed, k); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	if want := []string{old, fresh}; !slices.Equal(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	if err := d.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(oldPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old blob still there after delete: %v", err)
	}
	if _, err := d.Open(ctx, old); !errors.Is(err, blobstore.ErrNotFound) {
		t.Errorf("open deleted old blob: %v", err)
	}
	if _, err := blobstore.OpenDiskBlob(root, old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenDiskBlob of a deleted blob: %v", err)
	}
}
