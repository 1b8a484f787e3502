package blobstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/blobstore/blobtest"
)

var s3Run = func() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("run-%d-%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}()

var s3Buckets atomic.Int64

// openS3 opens the bucket of SATCHEL_TEST_S3_URL under a key prefix of its
// own (so that runs and tests do not see each other's blobs), with extra
// URL parameters, and empties that prefix when the test ends.
func openS3(tb testing.TB, extra url.Values) *blobstore.S3 {
	tb.Helper()
	raw := os.Getenv("SATCHEL_TEST_S3_URL")
	if raw == "" {
		tb.Skip("SATCHEL_TEST_S3_URL not set: S3 conformance skipped; run scripts/s3server.sh")
	}
	// Never fall back to asking an instance metadata service for credentials.
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", fmt.Sprintf("%s%s/%d/", q.Get("prefix"), s3Run, s3Buckets.Add(1)))
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	ctx := context.Background()
	b, err := blobstore.OpenS3(ctx, u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		var keys, ids []string
		b.List(ctx, time.Time{}, func(k string) error { keys = append(keys, k); return nil })
		b.ListMultipart(ctx, func(id string) error { ids = append(ids, id); return nil })
		for _, k := range keys {
			b.Delete(ctx, k)
		}
		for _, id := range ids {
			b.AbortMultipart(ctx, id)
		}
		b.Close()
	})
	return b
}

func TestS3Conformance(t *testing.T) {
	if os.Getenv("SATCHEL_TEST_S3_URL") == "" {
		t.Skip("SATCHEL_TEST_S3_URL not set: S3 conformance skipped; run scripts/s3server.sh")
	}
	blobtest.Run(t, func(t *testing.T) blobstore.Bucket { return openS3(t, nil) })
}

func TestS3URL(t *testing.T) {
	ctx := context.Background()
	for _, raw := range []string{
		"http://bucket",
		"s3://",
		"s3://bucket/path",
		"s3://bucket?endpoint=ftp://host",
		"s3://bucket?use_path_style=maybe",
		"s3://bucket?part_size=1024",
		"s3://bucket?colour=blue",
	} {
		if _, err := blobstore.OpenS3(ctx, raw); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func putBlob(t *testing.T, b blobstore.Bucket, key string, data []byte) {
	t.Helper()
	w, err := b.NewWriter(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A Writer larger than a part goes through a multipart upload; aborting one
// leaves neither an object nor an upload behind.
func TestS3WriterMultipart(t *testing.T) {
	b := openS3(t, url.Values{"part_size": {strconv.Itoa(5 << 20)}})
	ctx := context.Background()
	key := "writer-multipart-0001"
	data := randomBytes(12<<20 + 5)
	putBlob(t, b, key, data)
	r, err := b.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) || r.Size() != int64(len(data)) {
		t.Fatalf("read back %d bytes (size %d), err %v", len(got), r.Size(), err)
	}
	if time.Since(r.ModTime()) > time.Hour || time.Until(r.ModTime()) > time.Hour {
		t.Fatalf("mod time %v", r.ModTime())
	}

	w, err := b.NewWriter(ctx, "writer-aborted-0001")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ctx, "writer-aborted-0001"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("aborted blob: %v", err)
	}
	var ids []string
	b.ListMultipart(ctx, func(id string) error { ids = append(ids, id); return nil })
	if len(ids) != 0 {
		t.Fatalf("uploads left: %v", ids)
	}

	putBlob(t, b, "writer-empty-0001", nil)
	r, err = b.Open(ctx, "writer-empty-0001")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, r); n != 0 || err != nil || r.Size() != 0 {
		t.Fatalf("empty blob: %d %v", n, err)
	}
	r.Close()
}

// Seeks in every direction read what a bytes.Reader reads, and ranges served
// by http.ServeContent come out right.
func TestS3ReaderSeek(t *testing.T) {
	b := openS3(t, nil)
	ctx := context.Background()
	key := "reader-seek-0001"
	data := randomBytes(2<<20 + 333)
	putBlob(t, b, key, data)
	r, err := b.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := bytes.NewReader(data)
	steps := []struct {
		off    int64
		whence int
		n      int
	}{
		{0, io.SeekCurrent, 1000},  // start of the first body
		{10, io.SeekCurrent, 10},   // short skip within it
		{1 << 20, io.SeekStart, 7}, // far forward: ranged GET
		{-500, io.SeekCurrent, 1000},
		{-10, io.SeekEnd, 100}, // reads the last 10 only
		{0, io.SeekStart, 64 << 10},
		{5, io.SeekEnd, 1}, // past the end: EOF
	}
	for i, s := range steps {
		p1, err1 := r.Seek(s.off, s.whence)
		p2, _ := want.Seek(s.off, s.whence)
		if err1 != nil || p1 != p2 {
			t.Fatalf("step %d: seek %d %v, want %d", i, p1, err1, p2)
		}
		g, w := make([]byte, s.n), make([]byte, s.n)
		n1, _ := io.ReadFull(r, g)
		n2, _ := io.ReadFull(want, w)
		if n1 != n2 || !bytes.Equal(g[:n1], w[:n2]) {
			t.Fatalf("step %d: read %d bytes, want %d (same: %v)", i, n1, n2, bytes.Equal(g[:n1], w[:n2]))
		}
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, err := b.Open(req.Context(), key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer r.Close()
		http.ServeContent(w, req, "blob", r.ModTime(), r)
	}))
	defer srv.Close()
	for _, rg := range []struct {
		header     string
		start, end int
	}{{"bytes=0-99", 0, 100}, {"bytes=1048576-", 1 << 20, len(data)}, {"bytes=-300", len(data) - 300, len(data)}, {"", 0, len(data)}} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if rg.header != "" {
			req.Header.Set("Range", rg.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, data[rg.start:rg.end]) {
			t.Fatalf("range %q: status %d, %d bytes", rg.header, resp.StatusCode, len(body))
		}
	}
}

// A part whose body is longer than its length is refused; CompleteMultipart
// refuses uploads with parts missing; a part written again replaces the
// failed write. The failed write was streamed and cut off, and versitygw
// may store it late, zero-padded, after the part was written again: then
// completion must report the part changed (never join it), and the part
// written once more completes the upload.
func TestS3PartBodyChecked(t *testing.T) {
	b := openS3(t, nil)
	ctx := context.Background()
	key := "part-checked-0001"
	const part = 5 << 20
	data := randomBytes(3*part + 10)
	id, err := b.StartMultipart(ctx, key, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]string, 4)
	write := func(i int) {
		t.Helper()
		off, end := i*part, min((i+1)*part, len(data))
		tag, err := b.WritePart(ctx, id, blobstore.PartWrite{Off: int64(off), Length: int64(end - off), InPlace: true}, bytes.NewReader(data[off:end]))
		if err != nil {
			t.Fatal(err)
		}
		tags[i] = tag
	}
	if err := b.CompleteMultipart(ctx, id, key, tags); err == nil {
		t.Fatal("completed without parts")
	}
	write(3)
	write(2)
	if err := b.CompleteMultipart(ctx, id, key, tags); err == nil {
		t.Fatal("completed without the first parts")
	}
	write(0)
	if err := b.CompleteMultipart(ctx, id, key, tags); err == nil {
		t.Fatal("completed without the second part")
	}
	long := append(append([]byte{}, data[part:2*part]...), 'x')
	place := func() error { return nil }
	if _, err := b.WritePart(ctx, id, blobstore.PartWrite{Off: part, Length: part, InPlace: true, Place: place}, bytes.NewReader(long)); !errors.Is(err, blobstore.ErrPartSize) {
		t.Fatalf("long part: %v", err)
	}
	write(1)
	if err := b.CompleteMultipart(ctx, id, "some-other-key", tags); err == nil {
		t.Fatal("completed under another key")
	}
	for attempt := 1; ; attempt++ {
		err := b.CompleteMultipart(ctx, id, key, tags)
		var changed *blobstore.ChangedPartsError
		if errors.As(err, &changed) && attempt < 3 {
			t.Logf("the cut-off write landed late: parts %v changed", changed.Parts)
			for _, i := range changed.Parts {
				write(i)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	r, err := b.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("content differs (%d bytes)", len(got))
	}
	for _, bad := range []string{"", "no-dot", "key.UPPER", "key.~~zz", ".abc"} {
		if err := b.AbortMultipart(ctx, bad); err == nil || errors.Is(err, blobstore.ErrNotFound) {
			t.Errorf("upload id %q: %v", bad, err)
		}
	}
}

// A part request that the server finishes after the part was written
// again in full, with zeros for the bytes that never came (what versitygw
// does with a request cut off mid-body), replaces the acknowledged part at
// the right size. Completing with the acknowledged writes' tags refuses it,
// naming the part, instead of joining the zeros; written once more, the
// part completes the upload. The late request is sent by hand: its headers
// and half its body before the full write, the zeros after it.
func TestS3LateCutOffWriteRefused(t *testing.T) {
	b := openS3(t, nil)
	ctx := context.Background()
	key := "late-write-0001"
	const part = 5 << 20
	data := randomBytes(2*part + 10)
	id, err := b.StartMultipart(ctx, key, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]string, 3)
	write := func(i int) {
		t.Helper()
		off, end := i*part, min((i+1)*part, len(data))
		tag, err := b.WritePart(ctx, id, blobstore.PartWrite{Off: int64(off), Length: int64(end - off), InPlace: true}, bytes.NewReader(data[off:end]))
		if err != nil {
			t.Fatal(err)
		}
		tags[i] = tag
	}
	write(0)
	write(2)

	raw, err := blobstore.PresignPart(ctx, b, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, part)
	if _, err := conn.Write(data[part : part+part/2]); err != nil {
		t.Fatal(err)
	}

	write(1) // the client's full re-send, acknowledged

	if _, err := conn.Write(make([]byte, part-part/2)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("late part request: %s", resp.Status)
	}

	var changed *blobstore.ChangedPartsError
	err = b.CompleteMultipart(ctx, id, key, tags)
	if r, oerr := b.Open(ctx, key); oerr == nil {
		got, _ := io.ReadAll(r)
		r.Close()
		t.Fatalf("completed (%v) with the late write: %d bytes, same as sent: %v", err, len(got), bytes.Equal(got, data))
	}
	if !errors.As(err, &changed) || len(changed.Parts) != 1 || changed.Parts[0] != 1 {
		t.Fatalf("complete after a late write: %v, want part 1 changed", err)
	}
	write(1)
	if err := b.CompleteMultipart(ctx, id, key, tags); err != nil {
		t.Fatal(err)
	}
	r, err := b.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("content differs (%d bytes)", len(got))
	}
}

// patternReader yields n bytes cut from a random block, cheaply.
type patternReader struct {
	block []byte
	off   int64
	n     int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	c := copy(b, p.block[p.off%int64(len(p.block)):])
	p.off += int64(c)
	p.n -= int64(c)
	return c, nil
}

// BenchmarkS3Multipart sends 1 GiB as 16 parts of 64 MiB, 4 at a time:
//
//	go test ./blobstore -run '^$' -bench S3Multipart -benchtime 1x
func BenchmarkS3Multipart(b *testing.B) {
	bk := openS3(b, nil)
	ctx := context.Background()
	const size, part, parallel = 1 << 30, 64 << 20, 4
	block := randomBytes(1<<20 + 7)
	b.SetBytes(size)
	var complete time.Duration
	defer func() { b.ReportMetric(complete.Seconds()/float64(b.N), "complete-s/op") }()
	for i := range b.N {
		key := fmt.Sprintf("bench-multipart-%04d", i)
		id, err := bk.StartMultipart(ctx, key, size)
		if err != nil {
			b.Fatal(err)
		}
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		errs := make(chan error, size/part)
		tags := make([]string, size/part)
		for off := int64(0); off < size; off += part {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				tag, err := bk.WritePart(ctx, id, blobstore.PartWrite{Off: off, Length: part, InPlace: true}, &patternReader{block: block, off: off, n: part})
				tags[off/part] = tag
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if err := bk.CompleteMultipart(ctx, id, key, tags); err != nil {
			b.Fatal(err)
		}
		complete += time.Since(start)
		b.StopTimer()
		r, err := bk.Open(ctx, key)
		if err != nil || r.Size() != size {
			b.Fatalf("open: %v", err)
		}
		r.Close()
		bk.Delete(ctx, key)
		b.StartTimer()
	}
}
