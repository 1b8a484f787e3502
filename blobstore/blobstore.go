// Package blobstore stores file bytes. A Bucket makes bytes visible under a key
// only once they are durable, and maps multipart uploads onto whatever the
// backend does best (offset writes into one sparse file on local disk).
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotFound is returned when a key or multipart upload does not exist.
var ErrNotFound = errors.New("blob not found")

// ErrPartBusy is returned by CompleteMultipart while a part of the upload is
// being written.
var ErrPartBusy = errors.New("blobstore: a part is being written")

// Bucket is a durable key → bytes store.
type Bucket interface {
	// NewWriter starts a blob. Nothing is visible at key until Commit returns.
	NewWriter(ctx context.Context, key string) (Writer, error)
	// Open opens a committed blob for reading.
	Open(ctx context.Context, key string) (Reader, error)
	// Delete removes a blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every blob modified at or after since.
	List(ctx context.Context, since time.Time, fn func(key string) error) error

	// StartMultipart prepares an upload of size bytes that will become key.
	StartMultipart(ctx context.Context, key string, size int64) (uploadID string, err error)
	// WritePart writes exactly w.Length bytes from r at offset w.Off of the
	// upload, durably. Writing the same part again overwrites it. The tag
	// names what this write stored (an S3 part's ETag; "" on backends where
	// nothing but the caller's writes changes a part): keep it with the
	// part and hand it to CompleteMultipart.
	WritePart(ctx context.Context, uploadID string, w PartWrite, r io.Reader) (tag string, err error)
	// CompleteMultipart makes the upload visible as key. tags are the
	// parts' tags from WritePart in the order of their offsets ("" where
	// none is known). When a part no longer holds what the write that
	// returned its tag stored (a write the caller never saw succeed landed
	// after it: some S3 servers finish a cut-off request late), it fails
	// with a *ChangedPartsError and completes nothing. No part write
	// changes the blob afterwards: a write still going on makes it fail with
	// ErrPartBusy (on backends that can tell), a later one fails with
	// ErrNotFound.
	CompleteMultipart(ctx context.Context, uploadID, key string, tags []string) error
	// AbortMultipart discards an upload; a missing upload is not an error.
	AbortMultipart(ctx context.Context, uploadID string) error
	// ListMultipart calls fn for every multipart upload in progress.
	ListMultipart(ctx context.Context, fn func(uploadID string) error) error

	// LocalPath returns a filesystem path of a committed blob when the
	// backend keeps one, for tools (libvips, ffprobe) that read files.
	LocalPath(key string) (string, bool)
	// Close releases resources.
	Close() error
}

// ChangedPartsError is returned by CompleteMultipart when parts of the
// upload were replaced behind the caller's back: they must be written
// again before the upload can be completed.
type ChangedPartsError struct {
	// Parts are the indexes, into the tags given to CompleteMultipart, of
	// the parts that changed.
	Parts []int
}

func (e *ChangedPartsError) Error() string {
	return fmt.Sprintf("blobstore: parts %v changed since they were written", e.Parts)
}

// PartWrite describes one write of a multipart part.
type PartWrite struct {
	Off, Length int64
	// InPlace lets the bytes land in the upload as they arrive, so a failed
	// write leaves the range partly overwritten: for ranges that hold
	// nothing acknowledged. Otherwise the whole body is received first.
	// (On S3 an in-place write is streamed to the server, which may store
	// a cut-off one even after a later write of the part: completion tells
	// by the parts' tags.)
	InPlace bool
	// Place, when set, is called before any byte of the write may land in
	// the upload (after the whole body arrived, unless InPlace); when it
	// fails, the upload is unchanged and WritePart returns its error as is.
	Place func() error
}

// Exclusive is implemented by buckets that belong to one node alone (local
// disk). Only those may be swept for orphans at start: in a shared bucket,
// an object without a record may be another node's upload in flight.
type Exclusive interface {
	ExclusiveToNode() bool
}

// IsExclusive reports whether b belongs to this node alone.
func IsExclusive(b Bucket) bool {
	e, ok := b.(Exclusive)
	return ok && e.ExclusiveToNode()
}

// Writer receives the bytes of a new blob.
type Writer interface {
	io.Writer
	// Commit makes the bytes durable and visible under the key.
	Commit() error
	// Abort discards the bytes. It is safe after Commit (then it does nothing).
	Abort() error
}

// Reader reads a committed blob.
type Reader interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}
