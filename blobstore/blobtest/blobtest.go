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
	t.Run("MultipartStaged", func(t *testing.T) { testMultipartStaged(t, open(t)) })
	t.Run("MultipartTags", func(t *testing.T) { testMultipartTags(t, open(t)) })
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

// parts is a multipart upload under test: data cut into parts of size
// part, and the tag of the last acknowledged write of each.
type parts struct {
	b       blobstore.Bucket
	id, key string
	data    []byte
	part    int
	mu      sync.Mutex
	tags    []string
	resent  int
}

func newParts(t *testing.T, b blobstore.Bucket, key string, data []byte, part int) *parts {
	t.Helper()
	id, err := b.StartMultipart(context.Background(), key, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return &parts{b: b, id: id, key: key, data: data, part: part, tags: make([]string, (len(data)+part-1)/part)}
}

// write writes part i (from 0) of body, in place, and keeps its tag.
func (p *parts) write(i int, body []byte) error {
	off := i * p.part
	tag, err := p.b.WritePart(context.Background(), p.id, blobstore.PartWrite{Off: int64(off), Length: int64(len(body)), InPlace: true}, bytes.NewReader(body))
	if err == nil {
		p.mu.Lock()
		p.tags[i] = tag
		p.mu.Unlock()
	}
	return err
}

// body is part i of data.
func (p *parts) body(i int) []byte {
	return p.data[i*p.part : min((i+1)*p.part, len(p.data))]
}

// finish completes the upload as key. Parts reported changed (a cut-off
// write that a server finished late) are written again first, as a client
// sends them again; a change is reported at most twice.
func (p *parts) finish(t *testing.T, key string) {
	t.Helper()
	for {
		err := p.b.CompleteMultipart(context.Background(), p.id, key, p.tags)
		var changed *blobstore.ChangedPartsError
		if !errors.As(err, &changed) || p.resent == 2 {
			if err != nil {
				t.Fatalf("complete: %v", err)
			}
			return
		}
		p.resent++
		t.Logf("parts %v changed behind the writes: written again", changed.Parts)
		for _, i := range changed.Parts {
			if err := p.write(i, p.body(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func testMultipart(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	key := "0f1e2d3c-aaaa-4bbb-8ccc-000000000003"
	// S3 wants every part but the last to be at least 5 MiB.
	const part = 5 << 20
	data := random(t, 5*part+123)
	up := newParts(t, b, key, data, part)
	id := up.id
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, n := range []int{5, 3, 1, 0, 4} { // out of order, parallel
		wg.Go(func() { errs <- up.write(n, up.body(n)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := up.write(2, up.body(2)); err != nil {
		t.Fatal(err)
	}
	if err := up.write(2, up.body(2)); err != nil { // twice
		t.Fatal(err)
	}
	if _, err := b.WritePart(ctx, id, blobstore.PartWrite{Off: 0, Length: part, InPlace: true}, bytes.NewReader(data[:10])); !errors.Is(err, blobstore.ErrPartSize) {
		t.Fatalf("short part: %v", err)
	}
	// The short write above overwrote part 0's start: write it again.
	if err := up.write(0, up.body(0)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	b.ListMultipart(ctx, func(u string) error { ids = append(ids, u); return nil })
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("list multipart: %v", ids)
	}
	up.finish(t, key)
	if got := readAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatal("multipart content differs")
	}
	if err := b.CompleteMultipart(ctx, id, key, up.tags); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("complete twice: %v", err)
	}
	id2, _ := b.StartMultipart(ctx, key+"x", 10)
	if err := b.AbortMultipart(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WritePart(ctx, id2, blobstore.PartWrite{Off: 0, Length: 10, InPlace: true}, strings.NewReader("0123456789")); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("write to aborted upload: %v", err)
	}
}

// testMultipartTags checks that a part written again after the write whose
// tag completion gets (a write the caller never saw acknowledged, landing
// late) is refused with a ChangedPartsError on backends that tag parts, and
// that the upload completes once the part is written again.
func testMultipartTags(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	key := "0f1e2d3c-aaaa-4bbb-8ccc-000000000005"
	const part = 5 << 20
	data := random(t, 2*part+10)
	up := newParts(t, b, key, data, part)
	for i := range up.tags {
		if err := up.write(i, up.body(i)); err != nil {
			t.Fatal(err)
		}
	}
	if up.tags[0] == "" {
		t.Skip("the bucket does not tag parts: nothing but the caller's writes changes them")
	}
	late := bytes.Clone(up.body(1))
	clear(late[len(late)/2:]) // zero-padded, as a cut-off request kept by the server
	if _, err := b.WritePart(ctx, up.id, blobstore.PartWrite{Off: part, Length: part, InPlace: true}, bytes.NewReader(late)); err != nil {
		t.Fatal(err)
	}
	var changed *blobstore.ChangedPartsError
	if err := b.CompleteMultipart(ctx, up.id, key, up.tags); !errors.As(err, &changed) || len(changed.Parts) != 1 || changed.Parts[0] != 1 {
		t.Fatalf("complete with a part replaced: %v, want part 1 changed", err)
	}
	if _, err := b.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("blob after a refused completion: %v", err)
	}
	if err := up.write(1, up.body(1)); err != nil {
		t.Fatal(err)
	}
	up.finish(t, key)
	if got := readAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatal("multipart content differs")
	}
}

// testMultipartStaged checks writes that are not in place: a body cut short
// or refused by Place leaves the part as it was, and Place runs once, after
// the whole body arrived.
func testMultipartStaged(t *testing.T, b blobstore.Bucket) {
	ctx := context.Background()
	key := "0f1e2d3c-aaaa-4bbb-8ccc-000000000004"
	const part = 5 << 20
	data := random(t, 2*part+10)
	up := newParts(t, b, key, data, part)
	for i := range up.tags {
		if err := up.write(i, up.body(i)); err != nil {
			t.Fatal(err)
		}
	}
	other := random(t, part)
	placed := 0
	place := func() error { placed++; return nil }
	if _, err := b.WritePart(ctx, up.id, blobstore.PartWrite{Off: 0, Length: part, Place: place}, bytes.NewReader(other[:part/2])); !errors.Is(err, blobstore.ErrPartSize) {
		t.Fatalf("short staged part: %v", err)
	}
	if placed != 0 {
		t.Fatal("Place called for a short body")
	}
	refused := errors.New("refused")
	if _, err := b.WritePart(ctx, up.id, blobstore.PartWrite{Off: 0, Length: part, Place: func() error { placed++; return refused }}, bytes.NewReader(other)); err != refused {
		t.Fatalf("refused staged part: %v", err)
	}
	if placed != 1 {
		t.Fatalf("Place called %d times", placed)
	}
	if err := b.CompleteMultipart(ctx, up.id, key, up.tags); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatal("a failed staged write changed the upload")
	}
	// And a staged write that goes through replaces the part.
	up = newParts(t, b, key+"2", data, part)
	for i := range up.tags {
		if err := up.write(i, up.body(i)); err != nil {
			t.Fatal(err)
		}
	}
	tag, err := b.WritePart(ctx, up.id, blobstore.PartWrite{Off: 0, Length: part, Place: place}, bytes.NewReader(other))
	if err != nil || placed != 2 {
		t.Fatalf("staged part: %v (Place called %d times)", err, placed)
	}
	up.tags[0] = tag
	if err := b.CompleteMultipart(ctx, up.id, key+"2", up.tags); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, other...), data[part:]...)
	if got := readAll(t, b, key+"2"); !bytes.Equal(got, want) {
		t.Fatal("staged part not placed")
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
