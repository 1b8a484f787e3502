//go:build !linux || blobstore_portable

package blobstore

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// This file holds the portable versions of the system calls disk_linux.go
// makes (macOS and the BSDs; the blobstore_portable tag selects them on
// Linux too, so that their tests run there).

// startWriteback does nothing: without sync_file_range the final fsync
// writes everything.
func startWriteback(f *os.File, off, n int64) {}

// writePartBytes writes exactly length bytes of r at off of the upload
// file f through the page cache. The caller fdatasyncs f.
func writePartBytes(f *os.File, off, length int64, r io.Reader) error {
	return writeBuffered(f, off, length, r)
}

// errUnnamedUnsupported is returned by openUnnamed: unnamed files are a
// Linux feature.
var errUnnamedUnsupported = errors.New("blobstore: unnamed files not supported")

// unnamedSupported reports false: new blobs are temporary files under tmp/.
func unnamedSupported() bool { return false }

func openUnnamed(dir string) (*os.File, error) { return nil, errUnnamedUnsupported }

func linkUnnamed(f *os.File, p string) error { return errUnnamedUnsupported }

// openBlob opens the blob file at p for reading. Errors are *fs.PathError.
func openBlob(p string) (*os.File, error) {
	return os.Open(p)
}

// syncDir fsyncs the directory dir, making the entries made in it durable.
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

// datasync flushes f to stable storage (on macOS a full flush of the drive's
// cache, F_FULLFSYNC).
func datasync(f *os.File) error {
	return f.Sync()
}

// lockRange takes an exclusive lock on f without waiting; it reports false
// when another descriptor holds one. Without open-file-description range
// locks it locks the whole file with flock(2), whatever off and length say:
// writers of different parts of one upload take turns instead of writing
// at once, and the exclusion is the same. flock locks belong to the open
// file, so they exclude each other within one process too, and go away when
// it is closed.
func lockRange(f *os.File, off, length int64) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK), errors.Is(err, unix.EAGAIN):
		return false, nil
	default:
		return false, fmt.Errorf("blobstore: lock multipart: %w", err)
	}
}
