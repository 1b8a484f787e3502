//go:build !blobstore_portable

package blobstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n dirty bytes of f at off
// back to disk. It is best effort: a failure only means the final fsync does
// more.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
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
