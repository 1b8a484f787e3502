package blobstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Disk is a Bucket on a local filesystem. Blobs live in sharded directories
// (blobs/ab/cd/<key>) so concurrent creates do not contend on one directory
// lock; new blobs are written under tmp/ and renamed into place after fsync.
type Disk struct {
	root string
}

const (
	writeBufSize = 64 << 10
	// writebackEvery starts kernel writeback of dirty pages while bytes still
	// arrive, so the final fsync of a large blob is short.
	writebackEvery = 8 << 20
)

// OpenDisk opens (creating if needed) a disk bucket rooted at dir and removes
// temporary files a previous process left behind.
func OpenDisk(dir string) (*Disk, error) {
	d := &Disk{root: dir}
	for _, sub := range []string{"blobs", "tmp", "multipart"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("blobstore: create %s: %w", sub, err)
		}
	}
	// Nothing under tmp/ was ever acknowledged: remove it all.
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("blobstore: read tmp: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, "tmp", e.Name())); err != nil {
			return nil, fmt.Errorf("blobstore: clean tmp: %w", err)
		}
	}
	// Temporaries are spread over 256 directories: concurrent creates in
	// one directory serialise on its lock.
	for i := 0; i < 256; i++ {
		if err := os.Mkdir(filepath.Join(dir, "tmp", fmt.Sprintf("%02x", i)), 0o750); err != nil {
			return nil, fmt.Errorf("blobstore: create tmp shard: %w", err)
		}
	}
	return d, nil
}

// ValidKey reports whether key is usable as a blob name: it never becomes a
// path component other than as one file name.
func ValidKey(key string) bool {
	if len(key) < 4 || len(key) > 200 {
		return false
	}
	for _, c := range key {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '~', c == '.':
		default:
			return false
		}
	}
	return !strings.HasPrefix(key, ".")
}

func (d *Disk) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blobstore: invalid key %q", key)
	}
	return filepath.Join(d.root, "blobs", key[0:2], key[2:4], key), nil
}

func randomName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewWriter implements Bucket.
func (d *Disk) NewWriter(ctx context.Context, key string) (Writer, error) {
	final, err := d.path(key)
	if err != nil {
		return nil, err
	}
	name := randomName()
	tmp := filepath.Join(d.root, "tmp", name[:2], name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("blobstore: create temporary: %w", err)
	}
	w := &diskWriter{f: f, tmp: tmp, final: final, wb: &writebackFile{f: f}}
	w.buf = bufPool.Get().(*bufio.Writer)
	w.buf.Reset(w.wb)
	return w, nil
}

type diskWriter struct {
	f          *os.File
	buf        *bufio.Writer
	wb         *writebackFile
	tmp, final string
	done       bool
}

// bufPool recycles write buffers between uploads.
var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}

// release returns the write buffer to the pool.
func (w *diskWriter) release() {
	if w.buf != nil {
		w.buf.Reset(nil)
		bufPool.Put(w.buf)
		w.buf = nil
	}
}

// Write buffers p. It deliberately has no ReadFrom, so io.Copy feeds it large
// chunks through the buffer instead of many small direct writes.
func (w *diskWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("blobstore: write after commit or abort")
	}
	return w.buf.Write(p)
}

func (w *diskWriter) Commit() error {
	if w.done {
		return errors.New("blobstore: commit after commit or abort")
	}
	err := w.buf.Flush()
	w.release()
	if err != nil {
		w.Abort()
		return fmt.Errorf("blobstore: flush: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		w.Abort()
		return fmt.Errorf("blobstore: fsync: %w", err)
	}
	if err := w.f.Close(); err != nil {
		w.Abort()
		return fmt.Errorf("blobstore: close: %w", err)
	}
	if err := publish(w.tmp, w.final); err != nil {
		w.done = true
		os.Remove(w.tmp)
		return err
	}
	w.done = true
	return nil
}

func (w *diskWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.release()
	w.f.Close()
	return os.Remove(w.tmp)
}

// publish renames a durable temporary file into place and makes the rename
// itself durable.
func publish(tmp, final string) error {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("blobstore: create shard: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("blobstore: publish: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blobstore: open dir: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blobstore: fsync dir: %w", err)
	}
	return nil
}

// writebackFile asks the kernel to start writing dirty pages every few MiB.
type writebackFile struct {
	f       *os.File
	off     int64
	flushed int64
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackEvery {
		// Best effort: a failure here only means the final fsync does more.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.flushed, w.off-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = w.off
	}
	return n, err
}

type diskReader struct {
	*os.File
	size int64
	mod  time.Time
}

func (r *diskReader) Size() int64        { return r.size }
func (r *diskReader) ModTime() time.Time { return r.mod }

// Open implements Bucket.
func (d *Disk) Open(ctx context.Context, key string) (Reader, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	// A plain blocking descriptor: os.Open would also try (and fail) to
	// register the regular file with the network poller, a few system calls
	// per request on the delivery hot path.
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobstore: open: %w", &fs.PathError{Op: "open", Path: p, Err: err})
	}
	f := os.NewFile(uintptr(fd), p)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobstore: stat: %w", err)
	}
	return &diskReader{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Delete implements Bucket.
func (d *Disk) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: delete: %w", err)
	}
	return nil
}

// List implements Bucket.
func (d *Disk) List(ctx context.Context, since time.Time, fn func(string) error) error {
	return filepath.WalkDir(filepath.Join(d.root, "blobs"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if info.ModTime().Before(since) {
			return nil
		}
		return fn(e.Name())
	})
}

// LocalPath implements Bucket.
func (d *Disk) LocalPath(key string) (string, bool) {
	p, err := d.path(key)
	return p, err == nil
}

func (d *Disk) multipartPath(id string) (string, error) {
	if !ValidKey(id) {
		return "", fmt.Errorf("blobstore: invalid upload id %q", id)
	}
	return filepath.Join(d.root, "multipart", id), nil
}

// StartMultipart implements Bucket: the upload is one sparse file of the final size.
func (d *Disk) StartMultipart(ctx context.Context, key string, size int64) (string, error) {
	id := randomName()
	p, _ := d.multipartPath(id)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", fmt.Errorf("blobstore: start multipart: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		os.Remove(p)
		return "", fmt.Errorf("blobstore: size multipart: %w", err)
	}
	if err := f.Sync(); err != nil {
		os.Remove(p)
		return "", fmt.Errorf("blobstore: fsync multipart: %w", err)
	}
	return id, nil
}

// ErrPartSize is returned by WritePart when the body is not exactly length bytes.
var ErrPartSize = errors.New("blobstore: part size mismatch")

// WritePart implements Bucket.
func (d *Disk) WritePart(ctx context.Context, id string, off, length int64, r io.Reader) error {
	p, err := d.multipartPath(id)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return fmt.Errorf("blobstore: open multipart: %w", err)
	}
	defer f.Close()
	ow := &offsetWriter{f: f, off: off}
	bw := bufio.NewWriterSize(ow, writeBufSize)
	buf := make([]byte, writeBufSize)
	n, err := io.CopyBuffer(struct{ io.Writer }{bw}, io.LimitReader(r, length+1), buf)
	if err != nil {
		return fmt.Errorf("blobstore: write part: %w", err)
	}
	if n != length {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrPartSize, n, length)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("blobstore: flush part: %w", err)
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("blobstore: fsync part: %w", err)
	}
	return nil
}

type offsetWriter struct {
	f   *os.File
	off int64
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}

// CompleteMultipart implements Bucket.
func (d *Disk) CompleteMultipart(ctx context.Context, id, key string) error {
	p, err := d.multipartPath(id)
	if err != nil {
		return err
	}
	final, err := d.path(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return fmt.Errorf("blobstore: stat multipart: %w", err)
	}
	// Every part was fdatasync'ed when written; publish the file.
	return publish(p, final)
}

// AbortMultipart implements Bucket.
func (d *Disk) AbortMultipart(ctx context.Context, id string) error {
	p, err := d.multipartPath(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: abort multipart: %w", err)
	}
	return nil
}

// ListMultipart implements Bucket.
func (d *Disk) ListMultipart(ctx context.Context, fn func(string) error) error {
	entries, err := os.ReadDir(filepath.Join(d.root, "multipart"))
	if err != nil {
		return fmt.Errorf("blobstore: list multipart: %w", err)
	}
	for _, e := range entries {
		if err := fn(e.Name()); err != nil {
			return err
		}
	}
	return nil
}

// Close implements Bucket.
func (d *Disk) Close() error { return nil }

// ExclusiveToNode implements Exclusive: a disk bucket is one node's.
func (d *Disk) ExclusiveToNode() bool { return true }
