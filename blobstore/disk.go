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
	"sync/atomic"
	"time"
)

// Disk is a Bucket on a local filesystem. Blobs live in 256 shard
// directories, blobs/ab/<key> where ab is the start of the key, so
// concurrent creates do not contend on one directory lock, and a new blob
// seldom needs a new directory: each shard is made (and its entry fsynced)
// once. New blobs are unnamed files linked into place after fsync, or
// temporary files under tmp/ renamed into place.
//
// Versions before this one put blobs one level deeper, in
// blobs/ab/cd/<key> (65,536 shards, most of them new, each with a mkdir and
// an fsync, in the first hundred thousand uploads). Those blobs stay where
// they are and are still read, listed and deleted there: a key not found
// in its shard is looked for in the old place. Shard directories have
// two-character names and keys at least four, so the two never collide.
type Disk struct {
	root string
	// shards marks the blobs/ab directories known to exist durably, by the
	// number of their hexadecimal name ab (keys are UUIDs).
	shards [1 << 8]atomic.Bool
	// unnamed is set while new blobs are created as unnamed files in their
	// shard (O_TMPFILE) and linked into place at commit.
	unnamed atomic.Bool
	// syncDir fsyncs a directory; tests watch it.
	syncDir func(dir string) error
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
	d := &Disk{root: dir, syncDir: syncDir}
	d.unnamed.Store(unnamedSupported())
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

// path is where the blob key is written: blobs/ab/<key>.
func (d *Disk) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blobstore: invalid key %q", key)
	}
	return filepath.Join(d.root, "blobs", key[0:2], key), nil
}

// oldPath is where versions before the one-level layout wrote the blob key:
// blobs/ab/cd/<key>. The key must be valid.
func (d *Disk) oldPath(key string) string {
	return filepath.Join(d.root, "blobs", key[0:2], key[2:4], key)
}

func randomName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewWriter implements Bucket. Where the system allows it, the blob is an
// unnamed file in its shard directory until Commit links it in: no
// temporary name to create, rename and remove, and nothing to clean up
// after a crash. Otherwise it is a temporary file under tmp/.
func (d *Disk) NewWriter(ctx context.Context, key string) (Writer, error) {
	final, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if d.unnamed.Load() {
		f, err := d.openUnnamed(final)
		if err == nil {
			return d.newWriter(f, "", final), nil
		}
		if !errors.Is(err, errUnnamedUnsupported) {
			return nil, fmt.Errorf("blobstore: create blob: %w", err)
		}
		d.unnamed.Store(false)
	}
	name := randomName()
	tmp := filepath.Join(d.root, "tmp", name[:2], name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("blobstore: create temporary: %w", err)
	}
	return d.newWriter(f, tmp, final), nil
}

func (d *Disk) newWriter(f *os.File, tmp, final string) *diskWriter {
	w := &diskWriter{d: d, f: f, tmp: tmp, final: final, wb: &writebackFile{f: f}}
	w.buf = bufPool.Get().(*bufio.Writer)
	w.buf.Reset(w.wb)
	return w
}

// openUnnamed creates an unnamed file in the shard directory of final,
// making the directory first if needed.
func (d *Disk) openUnnamed(final string) (*os.File, error) {
	dir := filepath.Dir(final)
	if err := d.ensureShard(dir); err != nil {
		return nil, err
	}
	f, err := openUnnamed(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// The shard was removed behind our back: make it again.
		d.forgetShard(dir)
		if err := d.ensureShard(dir); err != nil {
			return nil, err
		}
		f, err = openUnnamed(dir)
	}
	return f, err
}

// shardIndex is the number of a shard directory blobs/ab, or -1 when its
// name is not two hexadecimal digits.
func shardIndex(dir string) int {
	name := filepath.Base(dir)
	if len(name) != 2 {
		return -1
	}
	n := 0
	for _, c := range []byte(name) {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		default:
			return -1
		}
	}
	return n
}

// ensureShard makes the shard directory dir (blobs/ab) exist durably: it
// is made and its entry fsynced into blobs/ the first time this process
// meets it, also when it existed already (another writer may have made it
// and not yet fsynced its entry).
func (d *Disk) ensureShard(dir string) error {
	i := shardIndex(dir)
	if i >= 0 && d.shards[i].Load() {
		return nil
	}
	err := os.Mkdir(dir, 0o750)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("blobstore: create shard: %w", err)
	}
	if err := d.syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	if i >= 0 {
		d.shards[i].Store(true)
	}
	return nil
}

// forgetShard drops what ensureShard knew of dir.
func (d *Disk) forgetShard(dir string) {
	if i := shardIndex(dir); i >= 0 {
		d.shards[i].Store(false)
	}
}

type diskWriter struct {
	d   *Disk
	f   *os.File
	buf *bufio.Writer
	wb  *writebackFile
	// tmp is the temporary file's name; "" for an unnamed file.
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
	if w.tmp == "" {
		return w.commitUnnamed()
	}
	if err := w.f.Close(); err != nil {
		w.Abort()
		return fmt.Errorf("blobstore: close: %w", err)
	}
	if err := w.d.publishBlob(w.tmp, w.final); err != nil {
		w.done = true
		os.Remove(w.tmp)
		return err
	}
	w.done = true
	return nil
}

// commitUnnamed links the durable unnamed file into its shard and makes
// the link durable.
func (w *diskWriter) commitUnnamed() error {
	w.done = true
	defer w.f.Close()
	dir := filepath.Dir(w.final)
	err := linkUnnamed(w.f, w.final)
	if errors.Is(err, fs.ErrNotExist) {
		// The shard was removed behind our back: make it again.
		w.d.forgetShard(dir)
		if err = w.d.ensureShard(dir); err == nil {
			err = linkUnnamed(w.f, w.final)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		// Replace the blob there, as rename would.
		tmp := w.final + ".tmp-" + randomName()
		if err = linkUnnamed(w.f, tmp); err == nil {
			if err = os.Rename(tmp, w.final); err != nil {
				os.Remove(tmp)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("blobstore: publish: %w", err)
	}
	return w.d.syncDir(dir)
}

func (w *diskWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.release()
	err := w.f.Close()
	if w.tmp != "" {
		return os.Remove(w.tmp)
	}
	// An unnamed file is gone with its last descriptor.
	return err
}

// publish renames a durable temporary file into place and makes the rename
// itself durable.
func publish(tmp, final string) error {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("blobstore: create dir: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("blobstore: publish: %w", err)
	}
	return syncDir(dir)
}

// publishBlob renames a durable temporary file into place as a blob, in a
// durable shard, and makes the rename itself durable.
func (d *Disk) publishBlob(tmp, final string) error {
	dir := filepath.Dir(final)
	if err := d.ensureShard(dir); err != nil {
		return err
	}
	err := os.Rename(tmp, final)
	if errors.Is(err, fs.ErrNotExist) {
		// The shard was removed behind our back: make it again.
		d.forgetShard(dir)
		if err = d.ensureShard(dir); err == nil {
			err = os.Rename(tmp, final)
		}
	}
	if err != nil {
		return fmt.Errorf("blobstore: publish: %w", err)
	}
	return d.syncDir(dir)
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
		startWriteback(w.f, w.flushed, w.off-w.flushed)
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
	f, err := openBlob(p)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = openBlob(d.oldPath(key))
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobstore: open: %w", err)
	}
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
	// A blob may be in both places (written again after an upgrade).
	for _, p := range []string{p, d.oldPath(key)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blobstore: delete: %w", err)
		}
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

// LocalPath implements Bucket. It is the blob's path in its shard unless
// only the layout of earlier versions has it.
func (d *Disk) LocalPath(key string) (string, bool) {
	p, err := d.path(key)
	if err != nil {
		return "", false
	}
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		if old := d.oldPath(key); fileExists(old) {
			return old, true
		}
	}
	return p, true
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// OpenDiskBlob opens for reading the blob key of the disk bucket rooted at
// root, in either layout, without opening the bucket (which would clean
// its temporaries). Errors wrap fs.ErrNotExist when there is no such blob.
func OpenDiskBlob(root, key string) (*os.File, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("blobstore: invalid key %q", key)
	}
	d := &Disk{root: root}
	p, _ := d.path(key)
	f, err := openBlob(p)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = openBlob(d.oldPath(key))
	}
	return f, err
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

// WritePart implements Bucket. Every write of a part holds an exclusive
// lock on its byte range of the upload file for as long as it changes it,
// so writes of one part are serialised and CompleteMultipart, which needs
// the whole file, cannot publish it meanwhile. A write that is not in place
// is staged in a temporary file and copied into the upload afterwards.
// Nothing but these writes changes a part, so the tag is always "".
func (d *Disk) WritePart(ctx context.Context, id string, pw PartWrite, r io.Reader) (string, error) {
	return "", d.writePart(ctx, id, pw, r)
}

func (d *Disk) writePart(ctx context.Context, id string, pw PartWrite, r io.Reader) error {
	p, err := d.multipartPath(id)
	if err != nil {
		return err
	}
	off, length := pw.Off, pw.Length
	if !pw.InPlace {
		return d.writePartStaged(ctx, p, off, length, r, pw.Place)
	}
	f, err := openUploadRange(ctx, p, off, length)
	if err != nil {
		return err
	}
	defer f.Close()
	if pw.Place != nil {
		if err := pw.Place(); err != nil {
			return err
		}
	}
	if err := writePartBytes(f, off, length, r); err != nil {
		return err
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("blobstore: fsync part: %w", err)
	}
	return nil
}

// writeBuffered writes exactly length bytes of r at off of f through the
// page cache, starting the kernel's writeback every few MiB so that the
// final fdatasync of the part is short.
func writeBuffered(f *os.File, off, length int64, r io.Reader) error {
	ow := &offsetWriter{f: f, off: off, flushed: off}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(ow)
	defer func() {
		bw.Reset(nil)
		bufPool.Put(bw)
	}()
	buf := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(buf)
	n, err := io.CopyBuffer(struct{ io.Writer }{bw}, io.LimitReader(r, length+1), *buf)
	if err != nil {
		return fmt.Errorf("blobstore: write part: %w", err)
	}
	if n != length {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrPartSize, n, length)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("blobstore: flush part: %w", err)
	}
	return nil
}

// copyBufPool recycles the read buffers of buffered part writes.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, writeBufSize); return &b }}

// readPart reads exactly len(p) bytes of a part's body into p; done bytes
// of length were read before. A body that ends early is ErrPartSize.
func readPart(r io.Reader, p []byte, done, length int64) error {
	n, err := io.ReadFull(r, p)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: got %d bytes, want %d", ErrPartSize, done+int64(n), length)
	}
	return fmt.Errorf("blobstore: write part: %w", err)
}

// checkPartEnd fails with ErrPartSize when r has more than the length bytes
// of the part.
func checkPartEnd(r io.Reader, length int64) error {
	var one [1]byte
	n, err := io.ReadAtLeast(r, one[:], 1)
	if n > 0 {
		return fmt.Errorf("%w: more than %d bytes", ErrPartSize, length)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("blobstore: write part: %w", err)
	}
	return nil
}

// writePartStaged receives a part into a temporary file, then, once place
// (if set) agreed, copies it into the upload at off.
func (d *Disk) writePartStaged(ctx context.Context, p string, off, length int64, r io.Reader, place func() error) error {
	name := randomName()
	tmp := filepath.Join(d.root, "tmp", name[:2], name)
	t, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("blobstore: create part temporary: %w", err)
	}
	defer os.Remove(tmp)
	defer t.Close()
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(t)
	defer func() {
		bw.Reset(nil)
		bufPool.Put(bw)
	}()
	n, err := io.Copy(struct{ io.Writer }{bw}, io.LimitReader(r, length+1))
	if err != nil {
		return fmt.Errorf("blobstore: receive part: %w", err)
	}
	if n != length {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrPartSize, n, length)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("blobstore: flush part temporary: %w", err)
	}
	if place != nil {
		if err := place(); err != nil {
			return err
		}
	}
	f, err := openUploadRange(ctx, p, off, length)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := t.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("blobstore: rewind part temporary: %w", err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("blobstore: seek multipart: %w", err)
	}
	// *os.File to *os.File: copy_file_range where the kernel offers it.
	if n, err := io.Copy(f, io.LimitReader(t, length)); err != nil || n != length {
		return fmt.Errorf("blobstore: place part (%d of %d bytes): %w", n, length, err)
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("blobstore: fsync part: %w", err)
	}
	return nil
}

// openUploadRange opens the upload file at p for writing with an exclusive
// lock on length bytes at off (waiting for other writers of the range), and
// checks that p still names the file locked: a completion may have renamed
// it meanwhile, and then the upload is gone.
func openUploadRange(ctx context.Context, p string, off, length int64) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobstore: open multipart: %w", err)
	}
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		ok, err := lockRange(f, off, length)
		if err != nil {
			f.Close()
			return nil, err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("blobstore: wait for part lock: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
	if err := samePath(f, p); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// samePath checks that the open file f is still the one at p.
func samePath(f *os.File, p string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("blobstore: stat multipart: %w", err)
	}
	pi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !os.SameFile(fi, pi)) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("blobstore: stat multipart: %w", err)
	}
	return nil
}

// offsetWriter writes at increasing offsets of f, starting the kernel's
// writeback of what it wrote every writebackEvery bytes.
type offsetWriter struct {
	f            *os.File
	off, flushed int64
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	if w.off-w.flushed >= writebackEvery {
		startWriteback(w.f, w.flushed, w.off-w.flushed)
		w.flushed = w.off
	}
	return n, err
}

// CompleteMultipart implements Bucket. It locks the whole upload file, so it
// fails with ErrPartBusy while a part is being written, and renames it into
// place under that lock: a write that opened the file before waits for the
// lock and then finds the upload gone. The tags are all "" (see WritePart).
func (d *Disk) CompleteMultipart(ctx context.Context, id, key string, _ []string) error {
	p, err := d.multipartPath(id)
	if err != nil {
		return err
	}
	final, err := d.path(key)
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
	ok, err := lockRange(f, 0, 0)
	if err != nil {
		return err
	}
	if !ok {
		return ErrPartBusy
	}
	if err := samePath(f, p); err != nil {
		return err
	}
	// Every part was fdatasync'ed when written; publish the file.
	return d.publishBlob(p, final)
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
