package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/internal/sniff"
)

// UploadOptions are the per-upload choices a client makes.
//
// It is stored, in a from-URL task's parameters, as JSON with the keys
// below: they are frozen (the untagged Go names they were first written
// with), so a task queued before an upgrade runs after it.
type UploadOptions struct {
	// Store is "0", "1", "auto" or "" (auto).
	Store    string            `json:"Store"`
	Metadata map[string]string `json:"Metadata"`
	Tags     []string          `json:"Tags"`
	Source   string            `json:"Source"`
	// Expires schedules the file's removal (see App.ExpireFiles).
	Expires *time.Time `json:"Expires,omitempty"`
	// OriginalProtected keeps the CDN from serving the original publicly.
	OriginalProtected bool `json:"OriginalProtected,omitempty"`
	// Anonymous uploads (JSON:API v1 without credentials) are held to the
	// project's anonymous size and type limits besides its own.
	Anonymous bool `json:"Anonymous,omitempty"`
}

// Validate checks the options.
func (o *UploadOptions) Validate() error {
	switch o.Store {
	case "", "0", "1", "auto", "true", "false":
	default:
		return invalid(satchel.ReasonStoreInvalid, "UPLOADCARE_STORE", "UPLOADCARE_STORE must be 0, 1 or auto.")
	}
	return satchel.ValidateMetadata(o.Metadata)
}

func (o *UploadOptions) stored(p *satchel.Project, now time.Time) *time.Time {
	switch o.Store {
	case "1", "true":
		return &now
	case "0", "false":
		return nil
	}
	if p.Autostore {
		return &now
	}
	return nil
}

// MaxFileSize is the largest file the project may upload.
func (a *App) MaxFileSize(p *satchel.Project) int64 { return a.maxFileSize(p) }

// maxFileSize is the effective cap for a project.
func (a *App) maxFileSize(p *satchel.Project) int64 {
	if p != nil && p.MaxFileSize > 0 && p.MaxFileSize < a.cfg.MaxFileSize {
		return p.MaxFileSize
	}
	return a.cfg.MaxFileSize
}

// MaxUploadSize is the largest file an upload may bring into the project:
// its cap, lowered for anonymous uploads.
func (a *App) MaxUploadSize(p *satchel.Project, anonymous bool) int64 {
	limit := a.maxFileSize(p)
	if anonymous {
		limit = min(limit, p.AnonymousMaxSize())
	}
	return limit
}

// TypeAllowed reports whether an upload of MIME type mime is accepted by
// the project (and, for anonymous uploads, by its anonymous types).
func TypeAllowed(p *satchel.Project, anonymous bool, mime string) bool {
	return satchel.MimeAllowed(p.AllowedTypes, mime) && (!anonymous || satchel.MimeAllowed(p.AnonymousTypes, mime))
}

// Incoming is a file whose bytes are being received into a temporary blob.
type Incoming struct {
	UUID        string
	Field       string
	Filename    string
	ContentType string
	w           blobstore.Writer
	hash        hash.Hash
	head        []byte
	size        int64
}

func newIncoming(id, field, filename, contentType string, w blobstore.Writer) *Incoming {
	return &Incoming{UUID: id, Field: field, Filename: satchel.BaseName(filename), ContentType: contentType, w: w, hash: sha256.New(), head: make([]byte, 0, sniff.Len)}
}

// Size is the number of bytes received.
func (in *Incoming) Size() int64 { return in.size }

// Write receives bytes: they are hashed, the head kept for sniffing, and
// streamed into the blob writer.
func (in *Incoming) Write(p []byte) (int, error) {
	in.keepHead(p)
	in.hash.Write(p)
	n, err := in.w.Write(p)
	in.size += int64(n)
	return n, err
}

// keepHead keeps the first bytes of the file, for sniffing.
func (in *Incoming) keepHead(p []byte) {
	if len(in.head) < sniff.Len {
		n := min(sniff.Len-len(in.head), len(p))
		in.head = append(in.head, p[:n]...)
	}
}

// Abort discards the received bytes.
func (in *Incoming) Abort() {
	if in.w != nil {
		in.w.Abort()
	}
}

// ErrTooLarge is returned by Receive when the source exceeds its limit.
var ErrTooLarge = errors.New("file too large")

// Receive streams r into a new temporary blob of at most limit bytes. The
// caller commits the result with Commit or discards it with Abort.
//
// While the bytes arrive the upload holds one of the node's upload slots
// and, when p is known (it may be nil), one of the project's: beyond either
// cap it is refused (KindUnavailable, KindThrottled) before any blob is made.
func (a *App) Receive(ctx context.Context, p *satchel.Project, field, filename, contentType string, r io.Reader, limit int64) (*Incoming, error) {
	release, err := a.slots.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	if p != nil {
		releaseProject, err := a.slots.acquireProject(p.ID)
		if err != nil {
			return nil, err
		}
		defer releaseProject()
	}
	return a.receive(ctx, field, filename, contentType, r, limit)
}

// receive is Receive without the upload slots (copies made by the server).
func (a *App) receive(ctx context.Context, field, filename, contentType string, r io.Reader, limit int64) (*Incoming, error) {
	id := newUUID()
	w, err := a.Bucket.NewWriter(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("app: new blob: %w", err)
	}
	in := newIncoming(id, field, filename, contentType, w)
	var src io.Reader = r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	if err := in.receive(src); err != nil {
		in.Abort()
		return nil, fmt.Errorf("app: receive: %w", err)
	}
	if limit > 0 && in.size > limit {
		in.Abort()
		return nil, ErrTooLarge
	}
	return in, nil
}

// receive reads src to its end in chunks of copyBufSize bytes (a multipart
// part hands over at most 4 KiB per Read: the blob gets large writes all
// the same). A body of one chunk is hashed in line; from the second chunk
// on, a goroutine hashes the chunks written meanwhile, up to hashDepth
// behind, so that SHA-256 runs beside the copy instead of after it.
func (in *Incoming) receive(src io.Reader) error {
	buf := *copyBufs.Get().(*[]byte)
	var hp *hashPipe
	defer func() {
		if hp != nil {
			hp.stop()
		}
		copyBufs.Put(&buf)
	}()
	for {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			chunk := buf[:n]
			in.keepHead(chunk)
			if _, err := in.w.Write(chunk); err != nil {
				return err
			}
			in.size += int64(n)
			if hp == nil && rerr == nil {
				hp = startHashPipe(in.hash)
			}
			if hp != nil {
				buf = hp.next(chunk)
			} else {
				in.hash.Write(chunk)
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// copyBufSize is the chunk of a received body.
const copyBufSize = 256 << 10

// hashDepth is how many chunks a hashPipe may be behind the copy.
const hashDepth = 2

// copyBufs recycles the chunks of received bodies.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// readerOnly hides WriterTo/ReaderFrom so io.CopyBuffer uses our buffer.
type readerOnly struct{ io.Reader }

// hashPipe feeds chunks to a hash in a goroutine of its own. Every chunk
// handed over stays the pipe's until the hash has consumed it.
type hashPipe struct {
	h     hash.Hash
	work  chan []byte
	free  chan []byte
	owned int
	done  chan struct{}
}

func startHashPipe(h hash.Hash) *hashPipe {
	p := &hashPipe{h: h, work: make(chan []byte, hashDepth), free: make(chan []byte, hashDepth+2), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for b := range p.work {
			p.h.Write(b)
			p.free <- b[:cap(b)]
		}
	}()
	return p
}

// next hands chunk (a pooled buffer of copyBufSize) to the hash and
// returns a buffer for the next one.
func (p *hashPipe) next(chunk []byte) []byte {
	p.work <- chunk
	p.owned++
	select {
	case b := <-p.free:
		p.owned--
		return b
	default:
	}
	if p.owned <= hashDepth {
		return *copyBufs.Get().(*[]byte)
	}
	p.owned--
	return <-p.free
}

// stop waits until every chunk handed over is hashed and returns the
// buffers to the pool.
func (p *hashPipe) stop() {
	close(p.work)
	<-p.done
	for ; p.owned > 0; p.owned-- {
		b := <-p.free
		copyBufs.Put(&b)
	}
}

// describe sniffs and inspects a committed blob and fills in what was
// learned. declared is the content type the client gave for the bytes ("" if
// none).
func (a *App) describe(ctx context.Context, f *satchel.File, head []byte, declared string) error {
	f.MimeType = sniff.Sniff(head, f.OriginalFilename, declared)
	f.ContentInfo = &satchel.ContentInfo{Mime: splitMime(f.MimeType)}
	if a.Inspect == nil || !inspectable(f.MimeType) {
		return nil
	}
	path, ok := a.Bucket.LocalPath(f.BlobKey)
	if !ok {
		// Remote blobs are spooled to a temporary file for libvips/ffprobe.
		tmp, err := a.spool(ctx, f.BlobKey, f.Size)
		if err != nil {
			a.Log.Warn("inspect: spool", "uuid", f.UUID, "err", err)
			return nil
		}
		defer os.Remove(tmp)
		path = tmp
	}
	ci, isImage, err := a.Inspect.Inspect(ctx, path, f.MimeType)
	if err != nil {
		return fmt.Errorf("app: inspect: %w", err)
	}
	if ci != nil {
		f.ContentInfo = ci
	}
	f.IsImage = isImage
	return nil
}

// inspectable reports whether inspection can learn anything about a type.
func inspectable(mime string) bool {
	return strings.HasPrefix(mime, "image/") || strings.HasPrefix(mime, "video/") || strings.HasPrefix(mime, "audio/")
}

// maxSpool bounds how much of a remote blob is copied locally for inspection.
const maxSpool = 4 << 30

func (a *App) spool(ctx context.Context, key string, size int64) (string, error) {
	if size > maxSpool {
		return "", fmt.Errorf("blob of %d bytes is too large to inspect", size)
	}
	r, err := a.Bucket.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	tmp, err := os.CreateTemp(a.cfg.TempDir, "inspect-*")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

func splitMime(m string) satchel.MimeInfo {
	t, s, _ := strings.Cut(m, "/")
	return satchel.MimeInfo{Mime: m, Type: t, Subtype: s}
}

// Commit makes received files durable and records them (one transaction for
// all of them, with their events). On error nothing is recorded and every blob
// is removed.
func (a *App) Commit(ctx context.Context, p *satchel.Project, opts UploadOptions, ins []*Incoming) ([]*satchel.File, error) {
	return a.commit(ctx, p, opts, ins, "")
}

func (a *App) commit(ctx context.Context, p *satchel.Project, opts UploadOptions, ins []*Incoming, sourceURL string) ([]*satchel.File, error) {
	limit := a.MaxUploadSize(p, opts.Anonymous)
	for _, in := range ins {
		if in.size > limit {
			abortAll(ins)
			return nil, withLimit(newError(satchel.KindTooLarge, satchel.ReasonFileTooLarge, "File is too large."), limit)
		}
		if m := sniff.Sniff(in.head, in.Filename, in.ContentType); !TypeAllowed(p, opts.Anonymous, m) {
			abortAll(ins)
			return nil, errTypeForbidden()
		}
	}
	now := time.Now().UTC()
	files := make([]*satchel.File, 0, len(ins))
	committed := 0
	cleanup := func() {
		for i, in := range ins {
			if i < committed {
				a.Bucket.Delete(context.WithoutCancel(ctx), in.UUID)
			} else {
				in.Abort()
			}
		}
	}
	for _, in := range ins {
		if err := in.w.Commit(); err != nil {
			cleanup()
			return nil, fmt.Errorf("app: commit blob: %w", err)
		}
		committed++
		f := &satchel.File{
			UUID: in.UUID, ProjectID: p.ID, Size: in.size,
			OriginalFilename: in.Filename, Filename: satchel.SanitizeFilename(in.Filename),
			BlobKey: in.UUID, Checksum: "sha256:" + hex.EncodeToString(in.hash.Sum(nil)),
			IsReady: true, Uploaded: now, Stored: opts.stored(p, now), Source: opts.Source,
			SourceURL: sourceURL, Metadata: opts.Metadata, Tags: opts.Tags,
			Expires: opts.Expires, OriginalProtected: opts.OriginalProtected,
		}
		if f.OriginalFilename == "" {
			f.OriginalFilename = "original"
		}
		if err := a.describe(ctx, f, in.head, in.ContentType); err != nil {
			cleanup()
			return nil, err
		}
		files = append(files, f)
	}
	if err := a.Store.CreateFiles(ctx, files, uploadEvents(files)); err != nil {
		cleanup()
		return nil, fmt.Errorf("app: record files: %w", err)
	}
	return files, nil
}

func abortAll(ins []*Incoming) {
	for _, in := range ins {
		in.Abort()
	}
}

// uploadEvents are the outbox events of newly uploaded files. Their
// payloads are encoded only if the store keeps them (a webhook subscribes):
// the snapshot is taken now, the encoding left to the store.
func uploadEvents(files []*satchel.File) []*satchel.Event {
	evs := make([]*satchel.Event, 0, 2*len(files))
	now := time.Now().UTC()
	for _, f := range files {
		snap := *f
		encode := func() ([]byte, error) {
			return satchel.EncodeEventData(&satchel.EventData{File: &snap, Initiator: satchel.Initiator{Type: "api"}})
		}
		evs = append(evs, &satchel.Event{ID: newUUID(), ProjectID: f.ProjectID, Type: satchel.EventFileUploaded, Encode: encode, Created: now})
		if f.Stored != nil {
			evs = append(evs, &satchel.Event{ID: newUUID(), ProjectID: f.ProjectID, Type: satchel.EventFileStored, Encode: encode, Created: now})
		}
	}
	return evs
}

// fileEvent is an outbox event carrying a snapshot of f.
func fileEvent(f *satchel.File, typ string) *satchel.Event {
	return FileEvent(f, typ, satchel.Initiator{Type: "api"}, nil)
}

// FileEvent is an outbox event of type typ carrying a snapshot of f, its
// initiator and, for file.info_updated, the previous values.
func FileEvent(f *satchel.File, typ string, in satchel.Initiator, previous map[string]any) *satchel.Event {
	snap := *f
	payload, err := satchel.EncodeEventData(&satchel.EventData{File: &snap, Initiator: in, PreviousValues: previous})
	if err != nil {
		panic(fmt.Sprintf("app: marshal event: %v", err))
	}
	return &satchel.Event{ID: newUUID(), ProjectID: f.ProjectID, Type: typ, Payload: payload, Created: time.Now().UTC()}
}

// FileInfo returns a live file of the project.
func (a *App) FileInfo(ctx context.Context, p *satchel.Project, id string) (*satchel.File, error) {
	if id == "" {
		return nil, invalid(satchel.ReasonFileIDRequired, "file_id", "file_id is required.")
	}
	if !satchel.ValidUUID(id) {
		return nil, withValue(invalid(satchel.ReasonFileIDInvalid, "file_id", "file_id is invalid."), id)
	}
	f, err := a.Store.File(ctx, p.ID, id)
	if err != nil {
		return nil, notFound(err, satchel.ReasonFileNotFound, "File is not found.")
	}
	if f.Removed != nil {
		return nil, newError(satchel.KindNotFound, satchel.ReasonFileNotFound, "File is not found.")
	}
	return f, nil
}
