package ucare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// UploadMethod chooses between a direct and a multipart upload.
type UploadMethod int

const (
	// UploadAuto uses a multipart upload from Config.MultipartThreshold bytes
	// and a direct one below.
	UploadAuto UploadMethod = iota
	// UploadDirect always sends one request (POST /base/).
	UploadDirect
	// UploadMultipart always uses a multipart upload (the file must be at
	// least 10 MiB).
	UploadMultipart
)

// UploadOptions shape an upload. The zero value is fine.
type UploadOptions struct {
	// Filename is the file's name (default: the name of an *os.File, else
	// "original").
	Filename string
	// ContentType is the file's MIME type (default: from the file name's
	// extension, else sniffed from the content).
	ContentType string
	// Store says whether the file is stored (StoreAuto by default).
	Store StoreMode
	// Metadata and Tags are set on the new file.
	Metadata map[string]string
	Tags     []string
	// Source is recorded as the file's source (default "local").
	Source string
	// Method forces a direct or a multipart upload.
	Method UploadMethod
	// Progress, when set, is called as bytes go up (from one goroutine at a
	// time; keep it quick).
	Progress func(Progress)
}

// UploadItem is one file of UploadFiles.
type UploadItem struct {
	Reader      io.Reader
	Filename    string
	ContentType string
}

// Upload uploads the content of r: directly below Config.MultipartThreshold,
// as a multipart upload from it (parts in parallel, each retried). r may be
// any reader; readers that cannot seek are buffered (in memory below the
// threshold, in a temporary file above).
//
// A multipart upload that still fails after its retries returns a
// *MultipartUploadError; call its Upload's Resume to finish it.
func (c *Client) Upload(ctx context.Context, r io.Reader, opts *UploadOptions) (*UploadedFile, error) {
	o := UploadOptions{}
	if opts != nil {
		o = *opts
	}
	src, err := c.prepare(r)
	if err != nil {
		return nil, err
	}
	item := c.describe(src, r, o.Filename, o.ContentType)
	prog := newProgress(src.size, o.Progress)
	if c.useMultipart(src.size, o.Method) {
		f, err := c.multipart(ctx, item, &o, prog)
		var me *MultipartUploadError
		if errors.As(err, &me) {
			me.Upload.cleanup = src.cleanup // the source lives on for Resume
			return nil, err
		}
		src.cleanup()
		return f, err
	}
	defer src.cleanup()
	files, err := c.direct(ctx, []*sourceItem{item}, &o, prog)
	if err != nil {
		return nil, err
	}
	return files[0], nil
}

// UploadFile uploads the file at path (Filename defaults to its base name).
func (c *Client) UploadFile(ctx context.Context, path string, opts *UploadOptions) (*UploadedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return c.Upload(ctx, f, opts)
}

// UploadFiles uploads several files: those below the multipart threshold
// together in direct requests (up to 100 files each), larger ones as
// multipart uploads. opts applies to every file (its Filename and
// ContentType are ignored; set them on the items). Progress covers all
// files. The result is in the order of items.
func (c *Client) UploadFiles(ctx context.Context, items []UploadItem, opts *UploadOptions) ([]*UploadedFile, error) {
	o := UploadOptions{}
	if opts != nil {
		o = *opts
	}
	srcs := make([]*sourceItem, len(items))
	defer func() {
		for _, s := range srcs {
			if s != nil {
				s.cleanup()
			}
		}
	}()
	var total int64
	for i, it := range items {
		if it.Reader == nil {
			return nil, &InvalidParamError{"items", fmt.Sprintf("item %d has no reader", i)}
		}
		src, err := c.prepare(it.Reader)
		if err != nil {
			return nil, err
		}
		srcs[i] = c.describe(src, it.Reader, it.Filename, it.ContentType)
		total += src.size
	}
	prog := newProgress(total, o.Progress)
	out := make([]*UploadedFile, len(items))
	var batch []*sourceItem
	var batchIdx []int
	var batchBytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		files, err := c.direct(ctx, batch, &o, prog)
		if err != nil {
			return err
		}
		for j, f := range files {
			out[batchIdx[j]] = f
		}
		batch, batchIdx, batchBytes = nil, nil, 0
		return nil
	}
	for i, s := range srcs {
		if c.useMultipart(s.size, o.Method) {
			f, err := c.multipart(ctx, s, &o, prog)
			var me *MultipartUploadError
			if errors.As(err, &me) {
				me.Upload.cleanup = s.cleanup // the source lives on for Resume
				srcs[i] = nil
			}
			if err != nil {
				return nil, err
			}
			out[i] = f
			continue
		}
		if len(batch) == 100 || batchBytes+s.size > maxDirectBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		batch = append(batch, s)
		batchIdx = append(batchIdx, i)
		batchBytes += s.size
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// maxDirectBatch keeps one direct request below the Upload API's 100 MB cap.
const maxDirectBatch = 90 << 20

func (c *Client) useMultipart(size int64, m UploadMethod) bool {
	switch m {
	case UploadDirect:
		return false
	case UploadMultipart:
		return true
	}
	return size >= c.cfg.MultipartThreshold
}

// source is upload content readable at any offset.
type source struct {
	ra      io.ReaderAt
	size    int64
	cleanup func()
}

// sourceItem is a source with its name and type.
type sourceItem struct {
	*source
	filename    string
	contentType string
}

// prepare makes r readable at any offset: seekable readers are read in place
// (from their current offset), others are buffered.
func (c *Client) prepare(r io.Reader) (*source, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		if cur, err := rs.Seek(0, io.SeekCurrent); err == nil {
			end, err := rs.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, err
			}
			if _, err := rs.Seek(cur, io.SeekStart); err != nil {
				return nil, err
			}
			var ra io.ReaderAt
			if x, ok := r.(io.ReaderAt); ok {
				ra = x
			} else {
				ra = &seekReaderAt{rs: rs}
			}
			return &source{ra: io.NewSectionReader(ra, cur, end-cur), size: end - cur, cleanup: func() {}}, nil
		}
	}
	limit := c.cfg.MultipartThreshold
	buf, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) < limit {
		return &source{ra: bytes.NewReader(buf), size: int64(len(buf)), cleanup: func() {}}, nil
	}
	tmp, err := os.CreateTemp("", "ucare-upload-*")
	if err != nil {
		return nil, err
	}
	rm := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := tmp.Write(buf); err != nil {
		rm()
		return nil, err
	}
	n, err := io.Copy(tmp, r)
	if err != nil {
		rm()
		return nil, err
	}
	return &source{ra: tmp, size: int64(len(buf)) + n, cleanup: rm}, nil
}

// seekReaderAt reads a ReadSeeker at offsets, one read at a time.
type seekReaderAt struct {
	mu sync.Mutex
	rs io.ReadSeeker
}

// ReadAt seeks to off and reads len(p) bytes.
func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.rs.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s.rs, p)
}

// describe settles an upload's file name and content type.
func (c *Client) describe(src *source, r io.Reader, filename, ctype string) *sourceItem {
	if filename == "" {
		if n, ok := r.(interface{ Name() string }); ok && n.Name() != "" {
			filename = filepath.Base(n.Name())
		}
	}
	if filename == "" || filename == "." || filename == string(filepath.Separator) {
		filename = "original"
	}
	if ctype == "" {
		ctype = mime.TypeByExtension(filepath.Ext(filename))
	}
	if ctype == "" {
		head := make([]byte, 512)
		n, _ := src.ra.ReadAt(head, 0)
		ctype = http.DetectContentType(head[:n])
	}
	return &sourceItem{source: src, filename: filename, contentType: ctype}
}

// progress aggregates upload progress and reports it.
type progress struct {
	mu          sync.Mutex
	done, total int64
	fn          func(Progress)
}

func newProgress(total int64, fn func(Progress)) *progress {
	p := &progress{total: total, fn: fn}
	p.report()
	return p
}

func (p *progress) add(n int64) {
	if p == nil || n == 0 {
		return
	}
	p.mu.Lock()
	p.done += n
	p.reportLocked()
	p.mu.Unlock()
}

func (p *progress) report() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.reportLocked()
	p.mu.Unlock()
}

func (p *progress) reportLocked() {
	if p.fn != nil {
		p.fn(Progress{Done: min(p.done, p.total), Total: p.total})
	}
}

// countingReader reports the bytes read from r.
type countingReader struct {
	r io.Reader
	p *progress
	n *int64
}

// Read reads and counts.
func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		*c.n += int64(n)
		c.p.add(int64(n))
	}
	return n, err
}

// piece is a part of a streamed multipart/form-data body: fixed bytes or a
// file's content.
type piece struct {
	fixed []byte
	src   *source
}

// direct uploads items in one POST /base/ and returns their infos.
func (c *Client) direct(ctx context.Context, items []*sourceItem, o *UploadOptions, prog *progress) ([]*UploadedFile, error) {
	fields := url.Values{"UPLOADCARE_PUB_KEY": {c.cfg.PublicKey}}
	source := o.Source
	if source == "" {
		source = "local"
	}
	addUploadOptions(fields, "UPLOADCARE_STORE", o.Store, o.Metadata, o.Tags, source)
	c.signUpload(fields)

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := mw.WriteField(k, fields.Get(k)); err != nil {
			return nil, err
		}
	}
	var pieces []piece
	var length int64
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = "file"
		if len(items) > 1 {
			names[i] = "file" + strconv.Itoa(i)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, names[i], quoteEscaper.Replace(it.filename)))
		h.Set("Content-Type", it.contentType)
		if _, err := mw.CreatePart(h); err != nil {
			return nil, err
		}
		pieces = append(pieces, piece{fixed: bytes.Clone(buf.Bytes())}, piece{src: it.source})
		length += int64(buf.Len()) + it.size
		buf.Reset()
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	pieces = append(pieces, piece{fixed: bytes.Clone(buf.Bytes())})
	length += int64(buf.Len())

	var sent int64
	base := int64(0)
	if prog != nil {
		prog.mu.Lock()
		base = prog.done
		prog.mu.Unlock()
	}
	r := &request{
		method: http.MethodPost, url: c.uploadBase + "/base/?jsonerrors=1", client: c.upload, noTimeout: true,
		header: http.Header{"Content-Type": {mw.FormDataContentType()}}, length: length,
		bodyFn: func() io.Reader {
			rs := make([]io.Reader, len(pieces))
			for i, p := range pieces {
				if p.fixed != nil {
					rs[i] = bytes.NewReader(p.fixed)
				} else {
					rs[i] = &countingReader{r: io.NewSectionReader(p.src.ra, 0, p.src.size), p: prog, n: &sent}
				}
			}
			return io.MultiReader(rs...)
		},
		onRetry: func() {
			if prog != nil {
				prog.mu.Lock()
				prog.done = base
				prog.mu.Unlock()
			}
			sent = 0
		},
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	if err := decodeUpload(r, resp, &ids); err != nil {
		return nil, err
	}
	out := make([]*UploadedFile, len(items))
	for i, name := range names {
		id := ids[name]
		if id == "" {
			return nil, &APIError{StatusCode: resp.status, Method: r.method, URL: r.url, Message: "the answer has no UUID for " + name}
		}
		f, err := c.UploadInfo(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")
