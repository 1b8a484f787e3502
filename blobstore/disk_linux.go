//go:build !blobstore_portable

package blobstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n dirty bytes of f at off
// back to disk. It is best effort: a failure only means the final fsync does
// more.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// errUnnamedUnsupported is returned by openUnnamed when the filesystem
// cannot make unnamed files.
var errUnnamedUnsupported = errors.New("blobstore: unnamed files not supported")

// unnamedSupported reports whether unnamed files can be linked in: that
// goes through /proc/self/fd.
func unnamedSupported() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
}

// openUnnamed creates an unnamed regular file in dir (O_TMPFILE): it has
// no name until linkUnnamed gives it one, and vanishes if it never gets
// one. Errors are *fs.PathError, or errUnnamedUnsupported.
func openUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o640)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return nil, errUnnamedUnsupported
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// linkUnnamed gives the unnamed file f the name p. Errors are
// *fs.LinkError.
func linkUnnamed(f *os.File, p string) error {
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, p, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: src, New: p, Err: err}
	}
	return nil
}

// openBlob opens the blob file at p for reading with a plain blocking
// descriptor: os.Open would also try (and fail) to register the regular
// file with the network poller, a few system calls per request on the
// delivery hot path. Errors are *fs.PathError.
func openBlob(p string) (*os.File, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// syncDir fsyncs the directory dir, making the entries made in it durable.
// It opens dir with a plain descriptor: os.Open would also try (and fail)
// to register it with the network poller, five system calls more for every
// upload.
func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("blobstore: open dir: %w", &fs.PathError{Op: "open", Path: dir, Err: err})
	}
	err = unix.Fsync(fd)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("blobstore: fsync dir: %w", &fs.PathError{Op: "fsync", Path: dir, Err: err})
	}
	return nil
}

// datasync flushes f's data (and the metadata needed to read it back).
func datasync(f *os.File) error {
	return unix.Fdatasync(int(f.Fd()))
}

// lockRange takes an exclusive open-file-description lock on length bytes
// of f at off (length 0: to the end and beyond) without waiting; it reports
// false when another descriptor holds a conflicting lock. Such locks belong
// to the open file, so they exclude each other within one process too, and
// go away when it is closed.
func lockRange(f *os.File, off, length int64) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: off, Len: length}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EACCES):
		return false, nil
	default:
		return false, fmt.Errorf("blobstore: lock multipart: %w", err)
	}
}

// Parts of a multipart upload are written with direct I/O where the
// filesystem allows it: the bytes go from the read buffer to the disk
// without a copy into the page cache, and writes into blocks allocated
// beforehand (fallocate) hold the file's inode lock shared, so the parts
// written at once into the one upload file do not queue for it (buffered
// writes take it exclusively, for every write). The fdatasync at the end
// of a part then only has the block allocation to record.
const (
	// directAlign is the alignment of direct I/O offsets, lengths and
	// buffers: the filesystem block size of ext4 and XFS.
	directAlign = 4096
	// directChunk is the size of one direct write.
	directChunk = 512 << 10
)

// directBufs keeps a few aligned buffers of direct part writes for reuse.
// They are mapped outside Go's heap: page-aligned, and not counted in the
// heap the collector lets grow to twice what is live.
var directBufs = make(chan []byte, 8)

// getDirectBuf returns a directChunk-byte buffer aligned to a page.
func getDirectBuf() ([]byte, error) {
	select {
	case b := <-directBufs:
		return b, nil
	default:
	}
	b, err := unix.Mmap(-1, 0, directChunk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("blobstore: map part buffer: %w", err)
	}
	return b, nil
}

// putDirectBuf keeps b for reuse or unmaps it.
func putDirectBuf(b []byte) {
	select {
	case directBufs <- b:
	default:
		_ = unix.Munmap(b)
	}
}

// setDirect turns direct I/O on or off for f.
func setDirect(f *os.File, on bool) error {
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, fl)
	return err
}

// writePartBytes writes exactly length bytes of r at off of the upload file
// f: the whole blocks with direct I/O when off is block-aligned and the
// filesystem takes it, the rest (the end of the last part, or everything
// otherwise) through the page cache. The caller fdatasyncs f.
func writePartBytes(f *os.File, off, length int64, r io.Reader) error {
	aligned := length &^ (directAlign - 1)
	if off%directAlign != 0 || aligned == 0 {
		return writeBuffered(f, off, length, r)
	}
	err := unix.Fallocate(int(f.Fd()), 0, off, length)
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("blobstore: allocate part: %w", err)
	}
	// Other failures (a filesystem without fallocate) only cost the
	// parallelism of the writes.
	if setDirect(f, true) != nil {
		return writeBuffered(f, off, length, r)
	}
	pw := &partWriter{f: f, end: off + aligned, direct: true}
	defer pw.close()
	// Two buffers: the next one is read from the network while the disk
	// writes the previous one.
	free := make(chan []byte, 2)
	for range 2 {
		b, err := getDirectBuf()
		if err != nil {
			for len(free) > 0 {
				putDirectBuf(<-free)
			}
			return err
		}
		free <- b
	}
	work := make(chan partChunk, 1)
	written := make(chan error, 1)
	go func() {
		var err error
		for c := range work {
			if err == nil {
				err = pw.write(c)
				if err != nil {
					pw.failed.Store(true)
				}
			}
			free <- c.buf
		}
		written <- err
	}()
	var rerr error
	for done := int64(0); done < length && !pw.failed.Load(); {
		b := <-free
		n := min(int64(len(b)), length-done)
		if done < aligned {
			n = min(n, aligned-done)
		}
		if rerr = readPart(r, b[:n], done, length); rerr != nil {
			free <- b
			break
		}
		work <- partChunk{buf: b, n: int(n), at: off + done}
		done += n
	}
	close(work)
	werr := <-written
	for range 2 {
		putDirectBuf(<-free)
	}
	switch {
	case werr != nil:
		return werr
	case rerr != nil:
		return rerr
	}
	return checkPartEnd(r, length)
}

// partChunk is n bytes of buf to write at offset at of the upload file.
type partChunk struct {
	buf []byte
	n   int
	at  int64
}

// partWriter writes the chunks of one part: with direct I/O up to end (the
// last block boundary of the part), through the page cache after it.
type partWriter struct {
	f      *os.File
	end    int64
	direct bool
	failed atomic.Bool
}

func (w *partWriter) write(c partChunk) error {
	if w.direct && c.at >= w.end {
		// The end of the part, shorter than a block.
		if err := setDirect(w.f, false); err != nil {
			return fmt.Errorf("blobstore: write part: %w", err)
		}
		w.direct = false
	}
	p := c.buf[:c.n]
	_, err := w.f.WriteAt(p, c.at)
	if err != nil && w.direct && errors.Is(err, unix.EINVAL) {
		// The filesystem refuses direct I/O here after all.
		if serr := setDirect(w.f, false); serr != nil {
			return fmt.Errorf("blobstore: write part: %w", serr)
		}
		w.direct = false
		_, err = w.f.WriteAt(p, c.at)
	}
	if err != nil {
		return fmt.Errorf("blobstore: write part: %w", err)
	}
	return nil
}

// close leaves f as it was opened, without direct I/O.
func (w *partWriter) close() {
	if w.direct {
		_ = setDirect(w.f, false)
	}
}
