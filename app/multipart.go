package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/internal/sniff"
)

// Multipart limits of the Upload API.
const (
	MinMultipartSize = 10485760
	DefaultPartSize  = 5242880
	MinPartSize      = 5242880
	MaxPartSize      = 5368709120
	// MaxParts bounds the number of part URLs one session hands out.
	MaxParts = 10000
)

// castagnoli is the CRC-32C table of part fingerprints.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// StartMultipart opens a multipart upload session.
func (a *App) StartMultipart(ctx context.Context, p *satchel.Project, opts UploadOptions, filename, contentType string, size, partSize int64) (*satchel.UploadSession, error) {
	if size < MinMultipartSize {
		return nil, withLimit(invalid(satchel.ReasonMultipartTooSmall, "size", "File size can not be less than %d bytes.", MinMultipartSize), MinMultipartSize)
	}
	return a.startSession(ctx, p, opts, filename, contentType, size, partSize, MinPartSize)
}

// StartChunked opens a multipart upload session of any size whose parts
// (chunks) are chunkSize bytes but the last: the JSON:API v1 chunked upload.
// The parts are written and completed exactly as those of StartMultipart.
// Chunks smaller than the blob store's smallest part are refused.
func (a *App) StartChunked(ctx context.Context, p *satchel.Project, opts UploadOptions, filename, contentType string, size, chunkSize int64) (*satchel.UploadSession, error) {
	if size <= 0 {
		return nil, invalid(satchel.ReasonChunkSizeInvalid, "size", "size must be a positive number of bytes.")
	}
	if chunkSize <= 0 {
		return nil, invalid(satchel.ReasonChunkSizeInvalid, "chunk_size", "chunk_size must be a positive number of bytes.")
	}
	if chunkSize > size {
		return nil, withLimit(invalid(satchel.ReasonChunkSizeInvalid, "chunk_size", "chunk_size can not be larger than size (%d bytes).", size), size)
	}
	if (size+chunkSize-1)/chunkSize > MaxParts {
		return nil, withLimit(invalid(satchel.ReasonTooManyParts, "chunk_size", "Too many chunks: at most %d are allowed.", MaxParts), MaxParts)
	}
	minPart := int64(1)
	if m, ok := a.Bucket.(interface{ MinPartSize() int64 }); ok && size > chunkSize {
		minPart = m.MinPartSize()
	}
	return a.startSession(ctx, p, opts, filename, contentType, size, chunkSize, minPart)
}

// startSession opens a multipart upload session with parts of partSize
// (at least minPart) bytes.
func (a *App) startSession(ctx context.Context, p *satchel.Project, opts UploadOptions, filename, contentType string, size, partSize, minPart int64) (*satchel.UploadSession, error) {
	if limit := a.MaxUploadSize(p, opts.Anonymous); size > limit {
		return nil, withLimit(newError(satchel.KindTooLarge, satchel.ReasonMultipartTooLarge, "File size exceeds project limit."), limit)
	}
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < minPart {
		return nil, withLimit(invalid(satchel.ReasonPartSizeTooSmall, "part_size", "Part size can not be less than %d bytes.", minPart), minPart)
	}
	if partSize > MaxPartSize {
		return nil, withLimit(invalid(satchel.ReasonPartSizeTooBig, "part_size", "Part size can not be more than %d bytes.", MaxPartSize), MaxPartSize)
	}
	if (size+partSize-1)/partSize > MaxParts {
		return nil, withLimit(invalid(satchel.ReasonTooManyParts, "part_size", "Too many parts: use a larger part_size."), MaxParts)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if t := declaredType(contentType, filename); t != "" && !TypeAllowed(p, opts.Anonymous, t) {
		return nil, errTypeForbidden()
	}
	now := time.Now().UTC()
	s := &satchel.UploadSession{
		UUID: newUUID(), ProjectID: p.ID, Size: size, PartSize: partSize,
		ContentType: contentType, OriginalFilename: satchel.BaseName(filename),
		Store: opts.Store, Metadata: opts.Metadata, Tags: opts.Tags, Source: opts.Source,
		FileExpires: opts.Expires, OriginalProtected: opts.OriginalProtected,
		Created: now, Expires: now.Add(a.cfg.SessionTTL),
	}
	if s.OriginalFilename == "" {
		s.OriginalFilename = "original"
	}
	up, err := a.Bucket.StartMultipart(ctx, s.UUID, size)
	if err != nil {
		return nil, fmt.Errorf("app: start multipart: %w", err)
	}
	s.Upload = up
	if err := a.Store.CreateUploadSession(ctx, s); err != nil {
		a.Bucket.AbortMultipart(context.WithoutCancel(ctx), up)
		return nil, fmt.Errorf("app: record session: %w", err)
	}
	return s, nil
}

// declaredType is the MIME type a multipart upload announces at start:
// the declared content type without parameters, or, when that is empty or
// application/octet-stream (what clients send for an unknown type), the
// type of the filename's extension. It is "" when neither tells; the
// sniffed type of the bytes is checked at completion in any case.
func declaredType(contentType, filename string) string {
	t := strings.ToLower(strings.TrimSpace(contentType))
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		t = mt
	}
	if t != "" && t != "application/octet-stream" {
		return t
	}
	ext := path.Ext(satchel.BaseName(filename))
	if ext == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(mime.TypeByExtension(strings.ToLower(ext)))
	if err != nil || mt == "application/octet-stream" {
		return ""
	}
	return mt
}

// PartURLs returns the self-authenticating URLs of every part, under base
// (an absolute URL of the Upload API root, without trailing slash).
func (a *App) PartURLs(base string, s *satchel.UploadSession) []string {
	exp := s.Expires.Unix()
	urls := make([]string, s.Parts())
	for i := range urls {
		n := i + 1
		q := url.Values{}
		q.Set("partNumber", strconv.Itoa(n))
		q.Set("expires", strconv.FormatInt(exp, 10))
		q.Set("signature", a.partSignature(s.UUID, n, exp))
		urls[i] = base + "/multipart/part/" + s.UUID + "/?" + q.Encode()
	}
	return urls
}

func (a *App) partSignature(id string, n int, exp int64) string {
	m := hmac.New(sha256.New, a.partKey)
	fmt.Fprintf(m, "%s.%d.%d", id, n, exp)
	return hex.EncodeToString(m.Sum(nil)[:20])
}

// PartRequest identifies one part PUT.
type PartRequest struct {
	UUID, PartNumber, Expires, Signature string
	// ContentLength is the declared body length, or -1.
	ContentLength int64
}

// PutPart stores one part. It is idempotent and safe to call in parallel for
// different parts of the same upload.
//
// A part that was received before keeps counting until the new body has
// arrived in full; then its record is replaced by a mark that the part is
// being written (the session is checked not to be completing at the same
// time, in the database, so the fence holds across nodes), the bytes are
// placed, and the part is recorded again. A write that fails forgets the
// part, so completing refuses until it is sent again; a write that loses
// to the completion of the upload fails and changes nothing. The part is
// recorded with the blob store's tag of this write, which completion
// hands back to the store (see CompleteMultipart).
//
// The write holds one of the node's upload slots from the start and, once
// its session is known, one of its project's (see Receive).
func (a *App) PutPart(ctx context.Context, req PartRequest, body io.Reader) error {
	release, err := a.slots.acquire()
	if err != nil {
		return err
	}
	defer release()
	forbidden := newError(satchel.KindForbidden, satchel.ReasonPartURLInvalid, "Part URL is invalid or expired.")
	n, err := strconv.Atoi(req.PartNumber)
	if err != nil || n < 1 || !satchel.ValidUUID(req.UUID) {
		return forbidden
	}
	exp, err := strconv.ParseInt(req.Expires, 10, 64)
	if err != nil || !hmac.Equal([]byte(a.partSignature(req.UUID, n, exp)), []byte(req.Signature)) {
		return forbidden
	}
	if time.Now().Unix() > exp {
		return forbidden
	}
	s, err := a.Store.UploadSession(ctx, req.UUID)
	if err != nil {
		return a.partRefused(ctx, req.UUID, err)
	}
	releaseProject, err := a.slots.acquireProject(s.ProjectID)
	if err != nil {
		return err
	}
	defer releaseProject()
	if n > s.Parts() {
		return forbidden
	}
	off, length := s.PartRange(n)
	if req.ContentLength >= 0 && req.ContentLength != length {
		return withLimit(newError(satchel.KindInvalid, satchel.ReasonPartSizeMismatch, "Part %d must be %d bytes, got %d.", n, length, req.ContentLength), length)
	}
	writer := newUUID()
	prev, claimed, err := a.Store.ClaimPart(ctx, s.UUID, n, writer)
	if err != nil {
		return a.partRefused(ctx, s.UUID, err)
	}
	// A part nobody recorded yet is written in place (nothing there counts);
	// one received before is replaced only once the new body is complete.
	pw := blobstore.PartWrite{Off: off, Length: length, InPlace: claimed}
	if claimed {
		pw.Place = func() error { return a.Store.CheckPart(ctx, s.UUID, n, writer) }
	} else {
		pw.Place = func() error { return a.Store.BeginPart(ctx, s.UUID, n, writer) }
	}
	// The part's fingerprint is a CRC-32C (hardware accelerated, next to
	// nothing beside the copy), not a cryptographic digest: it only goes
	// into the file's checksum, which the CDN turns into an ETag.
	h := crc32.New(castagnoli)
	tag, err := a.Bucket.WritePart(ctx, s.Upload, pw, io.TeeReader(body, h))
	if err == nil {
		err = a.Store.FinishPart(ctx, s.UUID, n, writer, length, hex.EncodeToString(h.Sum(nil)), tag)
		if errors.Is(err, satchel.ErrConflict) {
			// Another write of the part overlapped this one: either may be
			// what the upload holds now, so neither counts.
			a.dropPart(ctx, s.UUID, n)
			return newError(satchel.KindConflict, satchel.ReasonPartConflict, "Part %d was sent again meanwhile: send it once more.", n)
		}
		if err != nil {
			err = fmt.Errorf("app: record part: %w", err)
		}
	}
	if err == nil {
		return nil
	}
	// The part is no longer trusted: forget the record this write was to
	// replace and its own mark, not what a later write of the part made.
	writers := []string{writer}
	if prev != "" {
		writers = append(writers, prev)
	}
	a.dropPart(ctx, s.UUID, n, writers...)
	switch {
	case errors.Is(err, satchel.ErrConflict), satchel.IsNotFound(err):
		return a.partRefused(ctx, s.UUID, err)
	case errors.Is(err, blobstore.ErrPartSize), errors.Is(err, io.ErrUnexpectedEOF):
		// A body longer or shorter than the part (cut short, say).
		return withLimit(newError(satchel.KindInvalid, satchel.ReasonPartSizeMismatch, "Part %d must be %d bytes.", n, length), length)
	case errors.Is(err, blobstore.ErrNotFound):
		return a.partRefused(ctx, s.UUID, satchel.ErrNotFound)
	}
	return fmt.Errorf("app: write part: %w", err)
}

// dropPart forgets part n of a session after a failed write.
func (a *App) dropPart(ctx context.Context, id string, n int, writers ...string) {
	if err := a.Store.DropPart(context.WithoutCancel(ctx), id, n, writers...); err != nil {
		a.Log.Error("forget failed part", "uuid", id, "part", n, "err", err)
	}
}

// partRefused answers a part write whose session is gone (ErrNotFound) or
// being completed (ErrConflict); other errors pass through.
func (a *App) partRefused(ctx context.Context, id string, err error) error {
	switch {
	case errors.Is(err, satchel.ErrConflict):
		return errAlreadyUploaded
	case satchel.IsNotFound(err):
		if f, ferr := a.Store.File(context.WithoutCancel(ctx), 0, id); ferr == nil && f != nil {
			return errAlreadyUploaded
		}
		return errUploadNotFound
	}
	return err
}

var (
	errAlreadyUploaded = newError(satchel.KindConflict, satchel.ReasonUploadDone, "File is already uploaded.")
	errPartsMissing    = newError(satchel.KindInvalid, satchel.ReasonUploadIncomplete, "File size mismatch. Not all parts uploaded?")
	errUploadNotFound  = newError(satchel.KindNotFound, satchel.ReasonUploadNotFound, "File is not found.")
)

// CompleteMultipart verifies every part and turns the session into a file.
func (a *App) CompleteMultipart(ctx context.Context, p *satchel.Project, id string) (*satchel.File, error) {
	if id == "" {
		return nil, invalid(satchel.ReasonUploadIDRequired, "uuid", "uuid is required.")
	}
	if !satchel.ValidUUID(id) {
		return nil, withValue(invalid(satchel.ReasonUploadIDInvalid, "uuid", "uuid is invalid."), id)
	}
	unlock := a.locks.Lock("multipart:" + id)
	defer unlock()
	s, err := a.Store.UploadSession(ctx, id)
	if satchel.IsNotFound(err) {
		if f, ferr := a.Store.File(ctx, p.ID, id); ferr == nil && f != nil {
			return nil, errAlreadyUploaded
		}
		return nil, errUploadNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("app: load session: %w", err)
	}
	if s.ProjectID != p.ID {
		return nil, errUploadNotFound
	}
	// Fence the session: from here on no part write changes the upload
	// (one going on makes the fence fail, later ones are refused). The
	// fence is lifted again when the upload cannot be completed yet.
	switch err := a.Store.FenceUploadSession(ctx, id); {
	case errors.Is(err, satchel.ErrConflict):
		return nil, errPartsMissing
	case satchel.IsNotFound(err):
		return nil, a.partRefused(ctx, id, err)
	case err != nil:
		return nil, fmt.Errorf("app: fence session: %w", err)
	}
	fenced := true
	defer func() {
		if fenced {
			if err := a.Store.UnfenceUploadSession(context.WithoutCancel(ctx), id); err != nil {
				a.Log.Error("unfence upload session", "uuid", id, "err", err)
			}
		}
	}()
	parts, err := a.Store.Parts(ctx, id)
	if err != nil {
		return nil, err
	}
	var total int64
	digests := sha256.New()
	kind := "sha256-parts"
	tags := make([]string, s.Parts())
	for n := 1; n <= s.Parts(); n++ {
		pr, ok := parts[n]
		if !ok {
			continue
		}
		tags[n-1] = pr.Tag
		_, want := s.PartRange(n)
		if pr.Size != want {
			return nil, newError(satchel.KindInvalid, satchel.ReasonUploadSizeMismatch, "Can not complete upload. Wrong parts size?")
		}
		total += pr.Size
		raw, _ := hex.DecodeString(pr.Checksum)
		if len(raw) == crc32.Size {
			kind = "crc32c-parts"
		}
		digests.Write(raw)
	}
	if total < s.Size {
		return nil, errPartsMissing
	}
	if total > s.Size {
		return nil, newError(satchel.KindInvalid, satchel.ReasonUploadOverExpected, "Uploaded size is more than expected.")
	}
	err = a.Bucket.CompleteMultipart(ctx, s.Upload, s.UUID, tags)
	if errors.Is(err, blobstore.ErrPartBusy) {
		// A write of a part superseded meanwhile is still going on.
		return nil, errPartsMissing
	}
	var changed *blobstore.ChangedPartsError
	if errors.As(err, &changed) {
		// Parts hold other bytes than their recorded writes stored (an S3
		// server finished a cut-off write of the part late): they are not
		// received, and the client sends them again.
		fenced = false
		a.forgetChangedParts(ctx, id, parts, changed.Parts)
		return nil, errPartsMissing
	}
	if err != nil {
		// A completion interrupted after the bytes were published (crash
		// before the record was committed) left the blob in place: go on.
		if r, oerr := a.Bucket.Open(ctx, s.UUID); oerr == nil && r.Size() == s.Size {
			r.Close()
		} else {
			if oerr == nil {
				r.Close()
			}
			return nil, fmt.Errorf("app: complete multipart: %w", err)
		}
	}
	// The bytes are published: the fence stays until the session goes.
	fenced = false
	head, size, err := a.readHead(ctx, s.UUID)
	if err != nil {
		return nil, err
	}
	if size != s.Size {
		// Every part was recorded at its size, so the store joined parts
		// other than the recorded ones (an S3 server finishing a cut-off
		// write late, say): no file is made of them.
		return nil, fmt.Errorf("app: completed blob %s has %d bytes, want %d", s.UUID, size, s.Size)
	}
	now := time.Now().UTC()
	opts := UploadOptions{Store: s.Store}
	f := &satchel.File{
		UUID: s.UUID, ProjectID: p.ID, Size: s.Size,
		OriginalFilename: s.OriginalFilename, Filename: satchel.SanitizeFilename(s.OriginalFilename),
		BlobKey:  s.UUID,
		Checksum: fmt.Sprintf("%s:%s-%d", kind, hex.EncodeToString(digests.Sum(nil)), s.Parts()),
		IsReady:  true, Uploaded: now, Stored: opts.stored(p, now), Source: s.Source,
		Metadata: s.Metadata, Tags: s.Tags,
		Expires: s.FileExpires, OriginalProtected: s.OriginalProtected,
	}
	if err := a.describe(ctx, f, head, s.ContentType); err != nil {
		return nil, err
	}
	if !satchel.MimeAllowed(p.AllowedTypes, f.MimeType) {
		a.Bucket.Delete(context.WithoutCancel(ctx), f.BlobKey)
		a.Store.DeleteUploadSession(context.WithoutCancel(ctx), id)
		return nil, errTypeForbidden()
	}
	if err := a.Store.CompleteUploadSession(ctx, id, f, uploadEvents([]*satchel.File{f})); err != nil {
		// Another node completed the same upload meanwhile (the lock above
		// is per node): answer as for any repeated complete.
		if satchel.IsNotFound(err) {
			if _, ferr := a.Store.File(ctx, p.ID, id); ferr == nil {
				return nil, errAlreadyUploaded
			}
		}
		// The published bytes stay: the session is open, so a retried
		// complete finds them, and the expiry sweep removes them otherwise.
		return nil, fmt.Errorf("app: record multipart file: %w", err)
	}
	return f, nil
}

// forgetChangedParts lifts the fence of a session whose parts (indexes
// from 0) the blob store found replaced since their recorded writes, and
// forgets those records, unless the parts were written again meanwhile.
func (a *App) forgetChangedParts(ctx context.Context, id string, parts map[int]satchel.PartRecord, changed []int) {
	ctx = context.WithoutCancel(ctx)
	if err := a.Store.UnfenceUploadSession(ctx, id); err != nil {
		a.Log.Error("unfence upload session", "uuid", id, "err", err)
	}
	for _, i := range changed {
		n := i + 1
		a.Log.Warn("multipart part changed since it was written: to be sent again", "uuid", id, "part", n)
		a.dropPart(ctx, id, n, parts[n].Writer)
	}
}

// readHead reads the first bytes of a committed blob, for sniffing, and
// returns them with the blob's size.
func (a *App) readHead(ctx context.Context, key string) ([]byte, int64, error) {
	r, err := a.Bucket.Open(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("app: open blob: %w", err)
	}
	defer r.Close()
	buf := make([]byte, sniff.Len)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("app: read blob head: %w", err)
	}
	return buf[:n], r.Size(), nil
}
