package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is a Bucket on an S3-compatible object store. Blobs are objects named
// prefix+key. A Writer streams its bytes as a multipart upload (or one PUT
// for a small blob), so the object appears atomically when Commit completes
// it; Bucket multipart uploads are S3 multipart uploads.
//
// Credentials come from the usual AWS_* environment variables and shared
// configuration files.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string
	// partSize is the part size of Writer uploads; a Writer keeps up to
	// writerInflight+1 such buffers.
	partSize int64
	bufs     sync.Pool
}

const (
	s3DefaultWriterPart = 8 << 20
	s3MinPart           = 5 << 20
	s3MaxPart           = 5 << 30
	s3MaxParts          = 10000
	writerInflight      = 2
	// s3SeekSkip is how far a forward Seek may go within the open response
	// body before the next Read issues a new ranged GET instead.
	s3SeekSkip = 256 << 10
)

// OpenS3 opens a bucket described by a URL of the form
//
//	s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&use_path_style=true&prefix=satchel/
//
// All query parameters are optional: endpoint (the service's base URL; the
// AWS endpoint of the region by default), region (else the AWS_REGION
// environment variable or shared configuration, else us-east-1),
// use_path_style (bucket in the path rather than the host name; needed by most
// self-hosted servers), prefix (prepended to every key; a "/" is appended when
// missing) and part_size (bytes per part of Writer uploads, default 8 MiB).
// The bucket must exist.
func OpenS3(ctx context.Context, rawURL string) (*S3, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blobstore: s3 url: %w", err)
	}
	if u.Scheme != "s3" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("blobstore: s3 url must be s3://bucket?options, got %q", rawURL)
	}
	b := &S3{bucket: u.Host, partSize: s3DefaultWriterPart}
	var (
		endpoint  string
		region    string
		pathStyle bool
	)
	for k, v := range u.Query() {
		val := v[len(v)-1]
		switch k {
		case "endpoint":
			e, err := url.Parse(val)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return nil, fmt.Errorf("blobstore: s3 endpoint %q is not an http(s) URL", val)
			}
			endpoint = val
		case "region":
			region = val
		case "use_path_style":
			pathStyle, err = strconv.ParseBool(val)
			if err != nil {
				return nil, fmt.Errorf("blobstore: s3 use_path_style: %w", err)
			}
		case "prefix":
			b.prefix = strings.TrimPrefix(val, "/")
			if b.prefix != "" && !strings.HasSuffix(b.prefix, "/") {
				b.prefix += "/"
			}
		case "part_size":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < s3MinPart || n > s3MaxPart {
				return nil, fmt.Errorf("blobstore: s3 part_size must be %d..%d bytes, got %q", int64(s3MinPart), int64(s3MaxPart), val)
			}
			b.partSize = n
		default:
			return nil, fmt.Errorf("blobstore: unknown s3 url parameter %q", k)
		}
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blobstore: s3 config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	b.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Request bodies go out in large chunks (see copyConn), unless
		// the configuration brought an HTTP client of its own.
		hc, ok := o.HTTPClient.(*awshttp.BuildableClient)
		if o.HTTPClient == nil {
			hc, ok = awshttp.NewBuildableClient(), true
		}
		if ok {
			o.HTTPClient = hc.WithTransportOptions(func(t *http.Transport) {
				dial := t.DialContext
				t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := dial(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return copyConn{c}, nil
				}
			})
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
		// Checksums are sent only where an operation requires one: parts
		// are streamed, and a streamed body cannot be read twice.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		// Objects stored without a checksum are normal here, not news.
		o.DisableLogOutputChecksumValidationSkipped = true
		// Satchel keeps its own SHA-256 of every file. Some S3-compatible
		// servers record a whole-object checksum that disagrees with the
		// bytes after a part upload was cut off and then re-sent, which
		// would make a sound object unreadable; validate only when an
		// operation requires it.
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	size := b.partSize
	b.bufs.New = func() any { p := make([]byte, 0, size); return &p }
	if _, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.bucket}); err != nil {
		return nil, fmt.Errorf("blobstore: s3 bucket %s: %w", b.bucket, err)
	}
	return b, nil
}

// copyBufSize is the chunk in which request bodies are copied to the
// server's connection: larger than io.Copy's 32 KiB, so a part streamed
// from a client costs fewer system calls on both of its connections.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyConn is a connection to the S3 server whose ReadFrom (which the HTTP
// client uses to send request bodies) copies in chunks of copyBufSize.
type copyConn struct{ net.Conn }

// writerOnly hides everything but Write from io.CopyBuffer.
type writerOnly struct{ io.Writer }

func (c copyConn) ReadFrom(r io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	return io.CopyBuffer(writerOnly{c.Conn}, r, *buf)
}

func (b *S3) objectKey(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blobstore: invalid key %q", key)
	}
	return b.prefix + key, nil
}

// isNotFound reports whether err says the object or multipart upload does not exist.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return true
		}
	}
	return false
}

// NewWriter implements Bucket.
func (b *S3) NewWriter(ctx context.Context, key string) (Writer, error) {
	ok, err := b.objectKey(key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	return &s3Writer{b: b, ctx: ctx, cancel: cancel, key: ok, sem: make(chan struct{}, writerInflight)}, nil
}

// s3Writer fills one part buffer at a time; full buffers are uploaded as
// parts in the background (at most writerInflight at once) while the next
// one fills. A blob smaller than one part is sent with a single PUT at Commit.
type s3Writer struct {
	b      *S3
	ctx    context.Context
	cancel context.CancelFunc
	key    string
	buf    *[]byte
	done   bool

	uploadID string
	next     int32 // number of the next part
	sem      chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	parts    []types.CompletedPart
	err      error // first failed part
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("blobstore: write after commit or abort")
	}
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		if w.buf == nil {
			if w.uploadID == "" {
				// Small blobs should not cost a whole part buffer.
				s := make([]byte, 0, min(int64(64<<10), w.b.partSize))
				w.buf = &s
			} else {
				w.buf = w.b.bufs.Get().(*[]byte)
			}
		}
		room := int(w.b.partSize) - len(*w.buf)
		c := min(room, len(p))
		*w.buf = append(*w.buf, p[:c]...)
		p = p[c:]
		n += c
		if len(*w.buf) == int(w.b.partSize) {
			if err := w.flushPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *s3Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// flushPart starts uploading the current buffer as the next part.
func (w *s3Writer) flushPart() error {
	if w.uploadID == "" {
		out, err := w.b.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: &w.b.bucket, Key: &w.key})
		if err != nil {
			return fmt.Errorf("blobstore: s3 create upload: %w", err)
		}
		w.uploadID = aws.ToString(out.UploadId)
	}
	if w.next == s3MaxParts {
		return fmt.Errorf("blobstore: s3 blob larger than %d parts of %d bytes", s3MaxParts, w.b.partSize)
	}
	w.next++
	num, buf := w.next, w.buf
	w.buf = nil
	select {
	case w.sem <- struct{}{}:
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	w.wg.Go(func() {
		defer func() { <-w.sem }()
		out, err := w.b.client.UploadPart(w.ctx, &s3.UploadPartInput{
			Bucket: &w.b.bucket, Key: &w.key, UploadId: &w.uploadID, PartNumber: &num,
			Body: bytes.NewReader(*buf), ContentLength: aws.Int64(int64(len(*buf))),
		})
		if cap(*buf) == int(w.b.partSize) {
			*buf = (*buf)[:0]
			w.b.bufs.Put(buf)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("blobstore: s3 upload part %d: %w", num, err)
			}
			return
		}
		w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: &num})
	})
	return nil
}

func (w *s3Writer) Commit() error {
	if w.done {
		return errors.New("blobstore: commit after commit or abort")
	}
	if w.uploadID == "" {
		w.done = true
		defer w.cancel()
		var body []byte
		if w.buf != nil {
			body = *w.buf
		}
		_, err := w.b.client.PutObject(w.ctx, &s3.PutObjectInput{
			Bucket: &w.b.bucket, Key: &w.key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		})
		if err != nil {
			return fmt.Errorf("blobstore: s3 put: %w", err)
		}
		return nil
	}
	if w.buf != nil && len(*w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			w.Abort()
			return err
		}
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.Abort()
		return err
	}
	slices.SortFunc(w.parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	_, err := w.b.client.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &w.b.bucket, Key: &w.key, UploadId: &w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	})
	if err != nil {
		w.Abort()
		return fmt.Errorf("blobstore: s3 complete upload: %w", err)
	}
	w.done = true
	w.cancel()
	return nil
}

func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.cancel()
	w.wg.Wait()
	if w.uploadID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
	defer cancel()
	_, err := w.b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.b.bucket, Key: &w.key, UploadId: &w.uploadID})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("blobstore: s3 abort upload: %w", err)
	}
	return nil
}

// Open implements Bucket. The object's body is requested at once, for the
// common whole read; after a Seek, the next Read requests the rest of the
// object from the new offset with a ranged GET, conditional on the same ETag.
func (b *S3) Open(ctx context.Context, key string) (Reader, error) {
	ok, err := b.objectKey(key)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &ok})
	if err != nil {
		if isNotFound(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobstore: s3 get: %w", err)
	}
	return &s3Reader{
		b: b, ctx: ctx, key: ok, etag: aws.ToString(out.ETag),
		size: aws.ToInt64(out.ContentLength), mod: aws.ToTime(out.LastModified),
		body: out.Body,
	}, nil
}

type s3Reader struct {
	b       *S3
	ctx     context.Context
	key     string
	etag    string
	size    int64
	mod     time.Time
	body    io.ReadCloser // nil, or positioned at bodyPos
	bodyPos int64
	pos     int64
	closed  bool
}

func (r *s3Reader) Size() int64        { return r.size }
func (r *s3Reader) ModTime() time.Time { return r.mod }

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("blobstore: read after close")
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.body != nil && r.pos != r.bodyPos {
		if d := r.pos - r.bodyPos; d > 0 && d <= s3SeekSkip {
			if _, err := io.CopyN(io.Discard, r.body, d); err == nil {
				r.bodyPos = r.pos
			}
		}
		if r.pos != r.bodyPos {
			r.body.Close()
			r.body = nil
		}
	}
	if r.body == nil {
		in := &s3.GetObjectInput{Bucket: &r.b.bucket, Key: &r.key, Range: aws.String(fmt.Sprintf("bytes=%d-", r.pos))}
		if r.etag != "" {
			in.IfMatch = &r.etag
		}
		out, err := r.b.client.GetObject(r.ctx, in)
		if err != nil {
			if isNotFound(err) {
				return 0, fmt.Errorf("blobstore: s3 object %s removed while reading: %w", r.key, ErrNotFound)
			}
			return 0, fmt.Errorf("blobstore: s3 ranged get: %w", err)
		}
		r.body, r.bodyPos = out.Body, r.pos
	}
	if rest := r.size - r.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	r.bodyPos += int64(n)
	if err == io.EOF {
		r.body.Close()
		r.body = nil
		if r.pos < r.size {
			return n, io.ErrUnexpectedEOF
		}
		if n > 0 {
			err = nil
		}
	}
	return n, err
}

func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("blobstore: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("blobstore: negative position")
	}
	r.pos = abs
	return abs, nil
}

func (r *s3Reader) Close() error {
	r.closed = true
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// Delete implements Bucket.
func (b *S3) Delete(ctx context.Context, key string) error {
	ok, err := b.objectKey(key)
	if err != nil {
		return err
	}
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &ok}); err != nil && !isNotFound(err) {
		return fmt.Errorf("blobstore: s3 delete: %w", err)
	}
	return nil
}

// List implements Bucket. S3 keeps modification times to the second, so a
// blob of the second since falls in is listed even if written just before it.
func (b *S3) List(ctx context.Context, since time.Time, fn func(string) error) error {
	since = since.Truncate(time.Second)
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: &b.bucket, Prefix: aws.String(b.prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("blobstore: s3 list: %w", err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), b.prefix)
			if !ValidKey(key) || aws.ToTime(o.LastModified).Before(since) {
				continue
			}
			if err := fn(key); err != nil {
				return err
			}
		}
	}
	return nil
}

// LocalPath implements Bucket: S3 blobs have no local file.
func (b *S3) LocalPath(key string) (string, bool) { return "", false }

// Close implements Bucket.
func (b *S3) Close() error { return nil }

// Multipart uploads. The upload id handed out is key + "." + the S3 UploadId
// escaped into the characters of a key (see escapeUploadID), so every call
// can name the object, and ListMultipart rebuilds the same ids from a
// listing of the bucket's uploads.
//
// WritePart gets offsets, not part numbers. The caller cuts the blob into
// parts of one size P, the last one possibly shorter, so a part at offset
// off of length P is part off/P+1, and the last part (offset k*P, length
// L <= P) gets off/L+1 >= k+1, capped at the S3 maximum of 10000: higher than
// every other part's number, which is all S3 needs (numbers need not be
// consecutive; the parts are joined in ascending order). A Bucket upload
// therefore has at most 10000 parts, as S3 allows anyway.

// escapeUploadID maps an S3 UploadId to [a-z0-9_~-]: lower-case letters,
// digits, '-' and '_' stay; an upper-case letter becomes '~' and the letter
// in lower case; any other byte becomes "~~" and two hex digits. The result
// has no '.', which separates it from the key.
func escapeUploadID(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			sb.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			sb.WriteByte('~')
			sb.WriteByte(c + 'a' - 'A')
		default:
			fmt.Fprintf(&sb, "~~%02x", c)
		}
	}
	return sb.String()
}

func unescapeUploadID(s string) (string, bool) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			sb.WriteByte(c)
		case c == '~' && i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z':
			sb.WriteByte(s[i+1] - 'a' + 'A')
			i++
		case c == '~' && i+3 < len(s) && s[i+1] == '~':
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", false
			}
			sb.WriteByte(byte(v))
			i += 3
		default:
			return "", false
		}
	}
	return sb.String(), sb.Len() > 0
}

func (b *S3) uploadIDFor(key, s3ID string) string { return key + "." + escapeUploadID(s3ID) }

// parseUploadID returns the object key and S3 UploadId an upload id stands for.
func (b *S3) parseUploadID(id string) (objectKey, s3ID string, err error) {
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return "", "", fmt.Errorf("blobstore: invalid upload id %q", id)
	}
	key, s3ID := id[:i], ""
	var ok bool
	if s3ID, ok = unescapeUploadID(id[i+1:]); !ok || !ValidKey(key) {
		return "", "", fmt.Errorf("blobstore: invalid upload id %q", id)
	}
	return b.prefix + key, s3ID, nil
}

// MinPartSize is the smallest part (but the last) S3 accepts in a
// multipart upload.
func (b *S3) MinPartSize() int64 { return s3MinPart }

// StartMultipart implements Bucket.
func (b *S3) StartMultipart(ctx context.Context, key string, size int64) (string, error) {
	ok, err := b.objectKey(key)
	if err != nil {
		return "", err
	}
	out, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b.bucket, Key: &ok})
	if err != nil {
		return "", fmt.Errorf("blobstore: s3 start multipart: %w", err)
	}
	return b.uploadIDFor(key, aws.ToString(out.UploadId)), nil
}

// partBody passes exactly n bytes of r to the HTTP request. When r is short
// or long, it fails the read before the last bytes are sent, so the server
// never receives a complete body.
type partBody struct {
	r   io.Reader
	n   int64
	err error
}

func (p *partBody) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.n == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	n, err := p.r.Read(b)
	p.n -= int64(n)
	switch {
	case p.n == 0:
		// Make sure r ends here too before handing over the last bytes.
		var one [1]byte
		m, err := io.ReadFull(p.r, one[:])
		if m > 0 {
			p.err = fmt.Errorf("%w: body longer than the part", ErrPartSize)
			return 0, p.err
		}
		if err != io.EOF {
			p.err = fmt.Errorf("blobstore: read part: %w", err)
			return 0, p.err
		}
		return n, nil
	case err == io.EOF:
		p.err = fmt.Errorf("%w: body %d bytes short", ErrPartSize, p.n)
		return 0, p.err
	case err != nil:
		p.err = fmt.Errorf("blobstore: read part: %w", err)
		return 0, p.err
	}
	return n, nil
}

// spoolPart copies exactly length bytes of r into a new temporary file,
// positioned at its start; a shorter or longer body is ErrPartSize.
func spoolPart(r io.Reader, length int64) (*os.File, error) {
	f, err := os.CreateTemp("", "satchel-part-*")
	if err != nil {
		return nil, fmt.Errorf("blobstore: spool part: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(r, length+1))
	switch {
	case err != nil:
		return fail(fmt.Errorf("blobstore: read part: %w", err))
	case n < length:
		return fail(fmt.Errorf("%w: body %d bytes short", ErrPartSize, length-n))
	case n > length:
		return fail(fmt.Errorf("%w: body longer than the part", ErrPartSize))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("blobstore: spool part: %w", err))
	}
	return f, nil
}

// WritePart implements Bucket. Its number is derived from off and length
// as explained above; its tag is the ETag the server answered.
//
// A write to a part that holds nothing acknowledged (pw.InPlace) calls
// pw.Place and then streams r to the server as it arrives. When it is cut
// off, the caller forgets the part and the client sends it again; but some
// S3-compatible servers (versitygw) keep the bytes of the cut-off request,
// zero-padded to its length, and may store them after the full re-send,
// at the right size. The tags catch that: completion uses the ETags of the
// acknowledged writes, and a part replaced since is refused
// (ChangedPartsError), never joined.
//
// A write that replaces a part (not InPlace) is spooled to a local
// temporary file, then pw.Place is called, then the part is sent whole:
// the bytes it replaces keep counting until the new body has arrived, and
// a cut-off replacement never reaches the server. Without pw.Place the
// body is streamed.
func (b *S3) WritePart(ctx context.Context, id string, pw PartWrite, r io.Reader) (string, error) {
	off, length := pw.Off, pw.Length
	key, s3ID, err := b.parseUploadID(id)
	if err != nil {
		return "", err
	}
	if off < 0 || length <= 0 || length > s3MaxPart {
		return "", fmt.Errorf("blobstore: s3 part at %d of %d bytes: %w", off, length, ErrPartSize)
	}
	num := int32(min(off/length+1, s3MaxParts))
	switch {
	case pw.Place == nil:
	case pw.InPlace:
		if err := pw.Place(); err != nil {
			return "", err
		}
	default:
		f, err := spoolPart(r, length)
		if err != nil {
			return "", err
		}
		defer func() { f.Close(); os.Remove(f.Name()) }()
		if err := pw.Place(); err != nil {
			return "", err
		}
		r = f
	}
	body := &partBody{r: r, n: length}
	out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &b.bucket, Key: &key, UploadId: &s3ID, PartNumber: &num,
		Body: body, ContentLength: &length,
	}, func(o *s3.Options) {
		// The body is a stream: it can be neither hashed first nor resent.
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		o.RetryMaxAttempts = 1
	})
	if body.err != nil {
		return "", body.err
	}
	if err != nil {
		if isNotFound(err) {
			return "", ErrNotFound
		}
		return "", fmt.Errorf("blobstore: s3 upload part %d: %w", num, err)
	}
	return aws.ToString(out.ETag), nil
}

// completeAttempts is how many times CompleteMultipart lists and completes
// an upload whose parts disagree with their tags before it gives up.
const completeAttempts = 3

// CompleteMultipart implements Bucket. The parts are listed and checked
// first: each part's ETag must be its tag (a part without one takes the
// listed ETag), numbers 1..n-1 all present and of one size, and a last
// part no larger whose number matches its place. The upload is completed
// with the tags, so the server refuses (InvalidPart) a part replaced after
// the listing too.
//
// A part just rewritten may be listed, or refused, with the ETag of the
// write it replaced for a moment: a disagreement is retried twice, 200 and
// 400 ms later, before it is reported as a *ChangedPartsError naming the
// parts listed with other ETags (all of them when the listing agreed but
// the server refused).
func (b *S3) CompleteMultipart(ctx context.Context, id, key string, tags []string) error {
	ok, s3ID, err := b.parseUploadID(id)
	if err != nil {
		return err
	}
	if want, err := b.objectKey(key); err != nil {
		return err
	} else if want != ok {
		return fmt.Errorf("blobstore: upload %q is not for key %q", id, key)
	}
	for attempt := 1; ; attempt++ {
		changed, err := b.completeOnce(ctx, id, ok, s3ID, tags)
		if err == nil && changed == nil {
			return nil
		}
		if err != nil && !isInvalidPart(err) {
			return err
		}
		if attempt == completeAttempts {
			if changed == nil {
				changed = make([]int, len(tags))
				for i := range changed {
					changed[i] = i
				}
			}
			return &ChangedPartsError{Parts: changed}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// isInvalidPart reports whether the server refused a completion because a
// part is not there with the ETag given.
func isInvalidPart(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidPart"
}

// sameETag compares entity tags with or without their quotes.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// completeOnce lists the upload's parts and, when every one is listed
// with its tag, checks and completes them. changed are the indexes of the
// parts listed with another ETag; nothing is completed then.
func (b *S3) completeOnce(ctx context.Context, id, ok, s3ID string, tags []string) (changed []int, err error) {
	var parts []types.Part
	p := s3.NewListPartsPaginator(b.client, &s3.ListPartsInput{Bucket: &b.bucket, Key: &ok, UploadId: &s3ID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if isNotFound(err) {
				return nil, ErrNotFound
			}
			return nil, fmt.Errorf("blobstore: s3 list parts: %w", err)
		}
		parts = append(parts, page.Parts...)
	}
	slices.SortFunc(parts, func(a, b types.Part) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	if len(parts) == 0 {
		return nil, fmt.Errorf("blobstore: s3 upload %s has no parts", id)
	}
	if len(parts) != len(tags) {
		return nil, fmt.Errorf("blobstore: s3 upload %s has %d parts, want %d", id, len(parts), len(tags))
	}
	done := make([]types.CompletedPart, len(parts))
	for i, pt := range parts {
		etag := tags[i]
		if etag == "" {
			etag = aws.ToString(pt.ETag)
		} else if !sameETag(etag, aws.ToString(pt.ETag)) {
			changed = append(changed, i)
		}
		done[i] = types.CompletedPart{ETag: aws.String(etag), PartNumber: pt.PartNumber}
	}
	if changed != nil {
		return changed, nil
	}
	if err := checkPartLayout(id, parts); err != nil {
		return nil, err
	}
	_, err = b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &b.bucket, Key: &ok, UploadId: &s3ID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	if err != nil {
		if isNotFound(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobstore: s3 complete multipart: %w", err)
	}
	return nil, nil
}

// checkPartLayout checks listed parts, sorted by number: numbers 1..n-1
// all present and of one size, and a last part no larger whose number
// matches its place.
func checkPartLayout(id string, parts []types.Part) error {
	first, last := aws.ToInt64(parts[0].Size), parts[len(parts)-1]
	for i, pt := range parts[:len(parts)-1] {
		if aws.ToInt32(pt.PartNumber) != int32(i+1) || aws.ToInt64(pt.Size) != first {
			return fmt.Errorf("blobstore: s3 upload %s: part %d missing or of the wrong size", id, i+1)
		}
	}
	// The last part's number follows from its offset k*first and length,
	// as WritePart computed it; only when it is capped can a missing part
	// just before it go unnoticed.
	k, lastSize := int64(len(parts)-1), aws.ToInt64(last.Size)
	if lastSize <= 0 || (k > 0 && lastSize > first) || int64(aws.ToInt32(last.PartNumber)) != min(k*first/lastSize+1, s3MaxParts) {
		return fmt.Errorf("blobstore: s3 upload %s: parts missing before part %d of %d bytes", id, aws.ToInt32(last.PartNumber), lastSize)
	}
	return nil
}

// AbortMultipart implements Bucket.
func (b *S3) AbortMultipart(ctx context.Context, id string) error {
	key, s3ID, err := b.parseUploadID(id)
	if err != nil {
		return err
	}
	_, err = b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: &key, UploadId: &s3ID})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("blobstore: s3 abort multipart: %w", err)
	}
	return nil
}

// ListMultipart implements Bucket.
func (b *S3) ListMultipart(ctx context.Context, fn func(string) error) error {
	p := s3.NewListMultipartUploadsPaginator(b.client, &s3.ListMultipartUploadsInput{
		Bucket: &b.bucket, Prefix: aws.String(b.prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("blobstore: s3 list multipart: %w", err)
		}
		for _, u := range page.Uploads {
			key := strings.TrimPrefix(aws.ToString(u.Key), b.prefix)
			if !ValidKey(key) || aws.ToString(u.UploadId) == "" {
				continue
			}
			if err := fn(b.uploadIDFor(key, aws.ToString(u.UploadId))); err != nil {
				return err
			}
		}
	}
	return nil
}
