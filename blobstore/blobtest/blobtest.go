// Package blobtest is the conformance suite every blobstore.Bucket passes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/blobstore"
)

// Run runs the suite; open returns a new, empty bucket.
func Run(t *testing.T, open func(t *testing.T) blobstore.Bucket) {
	t.Run("WriteCommitRead", func(t *testing.T) { testWrite(t, open(t)) })
	t.Run("Abort", func(t *testing.T) { testAbort(t, open(t)) })
	t.Run("Multipart", func(t *testing.T) { testMultipart(t, open(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testKeys(t, open(t)) })
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func readAll(t *testing.T, b blobstore.Bucket, key string) []byte {
	t.Helper()
	r, err := b.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != r.Size() {
		t.Fatalf("size %d, read %d", r.Size(), len(data))
	}
	return data
}

func testWrite(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	key := "0f1e2d3c-aaaa-4bbb-8ccc-000000000001"
	data := random(t, 3<<20+17)
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 4096 {
		w.Write(data[off:min(off+4096, len(data))])
	}
	if _, err := b.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("visible before commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("abort after commit: %v", err)
	}
	if got := readAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	r, _ := b.Open(ctx, key)
	r.Seek(100, io.SeekStart)
	p := make([]byte, 10)
	io.ReadFull(r, p)
	r.Close()
	if !bytes.Equal(p, data[100:110]) {
		t.Fatal("seek read differs")
	}
	var listed []string
	if err := b.List(ctx, time.Now().Add(-time.Hour), func(k string) error { listed = append(listed, k); return nil }); err != nil || len(listed) != 1 || listed[0] != key {
		t.Fatalf("list: %v %v", listed, err)
	}
	listed = nil
	b.List(ctx, time.Now().Add(time.Hour), func(k string) error { listed = append(listed, k); return nil })
	if len(listed) != 0 {
		t.Fatalf("list since future: %v", listed)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	if _, err := b.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("open deleted: %v", err)
	}
}

func testAbort(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	key := "0f1e2d3c-aaaa-4bbb-8ccc-000000000002"
	w, _ := b.NewWriter(ctx, key)
	w.Write([]byte("partial"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
	if _, err := b.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("aborted blob visible: %v", err)
	}
}

func testMultipart(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	key := "0f1e2d3c-aaaa-4bbb-8ccc-000000000003"
	// S3 wants every part but the last to be at least 5 MiB.
	const part = 5 << 20
	data := random(t, 5*part+123)
	id, err := b.StartMultipart(ctx, key, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, n := range []int{5, 3, 1, 0, 4, 2, 2} { // out of order, parallel, one twice
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			off := n * part
			end := min(off+part, len(data))
			errs <- b.WritePart(ctx, id, int64(off), int64(end-off), bytes.NewReader(data[off:end]))
		}(n)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WritePart(ctx, id, 0, part, bytes.NewReader(data[:10])); !errors.Is(err, blobstore.ErrPartSize) {
		t.Fatalf("short part: %v", err)
	}
	// The short write above overwrote part 0's start: write it again.
	if err := b.WritePart(ctx, id, 0, part, bytes.NewReader(data[:part])); err != nil {
		t.Fatal(err)
	}
	var ids []string
	b.ListMultipart(ctx, func(u string) error { ids = append(ids, u); return nil })
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("list multipart: %v", ids)
	}
	if err := b.CompleteMultipart(ctx, id, key); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatal("multipart content differs")
	}
	if err := b.CompleteMultipart(ctx, id, key); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("complete twice: %v", err)
	}
	id2, _ := b.StartMultipart(ctx, key+"x", 10)
	if err := b.AbortMultipart(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if err := b.WritePart(ctx, id2, 0, 10, strings.NewReader("0123456789")); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("write to aborted upload: %v", err)
	}
}

func testKeys(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	for _, k := range []string{"../../etc/passwd", "a/b", "", ".hidden", "UPPER-case-key"} {
		if _, err := b.NewWriter(ctx, k); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}
