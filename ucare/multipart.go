package ucare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// MultipartUpload is a multipart upload under way: the state needed to
// finish it. It marshals to JSON (without its source), so a program may save
// it and resume in a later run with Client.ResumeMultipart.
type MultipartUpload struct {
	UUID        string   `json:"uuid"`
	Filename    string   `json:"filename"`
	ContentType string   `json:"content_type"`
	Size        int64    `json:"size"`
	PartSize    int64    `json:"part_size"`
	PartURLs    []string `json:"part_urls"`
	// Done marks the parts the server has.
	Done []bool `json:"done"`

	mu      sync.Mutex
	client  *Client
	src     io.ReaderAt
	cleanup func()
}

// MultipartUploadError is a multipart upload that failed after it started.
// Upload holds its state: Resume sends the parts still missing and
// completes it.
type MultipartUploadError struct {
	Upload *MultipartUpload
	Err    error
}

// Error describes the failure.
func (e *MultipartUploadError) Error() string {
	return fmt.Sprintf("ucare: multipart upload %s interrupted with %d of %d parts sent (resumable): %v",
		e.Upload.UUID, len(e.Upload.PartURLs)-e.Upload.Remaining(), len(e.Upload.PartURLs), e.Err)
}

// Unwrap returns the underlying error.
func (e *MultipartUploadError) Unwrap() error { return e.Err }

// Remaining returns how many parts are still to be sent.
func (m *MultipartUpload) Remaining() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, d := range m.Done {
		if !d {
			n++
		}
	}
	return n
}

// Resume sends the missing parts and completes the upload. src is the
// file's content again (from its first byte); nil reuses the reader of the
// failed attempt. onProgress may be nil. On failure it returns a
// *MultipartUploadError again.
func (m *MultipartUpload) Resume(ctx context.Context, src io.ReaderAt, onProgress func(Progress)) (*UploadedFile, error) {
	if m.client == nil {
		return nil, &InvalidParamError{"MultipartUpload", "has no client; use Client.ResumeMultipart"}
	}
	return m.client.ResumeMultipart(ctx, m, src, onProgress)
}

// Close releases the content the failed upload kept for Resume (a temporary
// copy of a non-seekable reader). Call it when giving up on the upload.
func (m *MultipartUpload) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cleanup != nil {
		m.cleanup()
		m.cleanup = nil
	}
	m.src = nil
	return nil
}

// ResumeMultipart resumes a multipart upload, e.g. one saved as JSON by an
// earlier run. src is the file's content (nil: the reader m kept).
func (c *Client) ResumeMultipart(ctx context.Context, m *MultipartUpload, src io.ReaderAt, onProgress func(Progress)) (*UploadedFile, error) {
	m.mu.Lock()
	m.client = c
	if src != nil {
		m.src = src
	}
	if m.src == nil {
		m.mu.Unlock()
		return nil, &InvalidParamError{"src", "the upload keeps no content; pass the file again"}
	}
	if len(m.Done) != len(m.PartURLs) {
		m.Done = make([]bool, len(m.PartURLs))
	}
	var done int64
	for i, d := range m.Done {
		if d {
			done += m.partLen(i)
		}
	}
	m.mu.Unlock()
	prog := &progress{done: done, total: m.Size, fn: onProgress}
	prog.report()
	return m.run(ctx, prog)
}

// multipart starts a multipart upload of it and runs it.
func (c *Client) multipart(ctx context.Context, it *sourceItem, o *UploadOptions, prog *progress) (*UploadedFile, error) {
	f := url.Values{
		"UPLOADCARE_PUB_KEY": {c.cfg.PublicKey},
		"filename":           {it.filename},
		"size":               {strconv.FormatInt(it.size, 10)},
		"content_type":       {it.contentType},
		"part_size":          {strconv.FormatInt(c.cfg.PartSize, 10)},
	}
	source := o.Source
	if source == "" {
		source = "local"
	}
	addUploadOptions(f, "UPLOADCARE_STORE", o.Store, o.Metadata, o.Tags, source)
	c.signUpload(f)
	var start struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := c.uploadCall(ctx, http.MethodPost, "/multipart/start/", f, &start); err != nil {
		return nil, err
	}
	if start.UUID == "" || len(start.Parts) == 0 {
		return nil, &APIError{StatusCode: http.StatusOK, Method: http.MethodPost, URL: c.uploadBase + "/multipart/start/", Message: "the answer has no uuid or parts"}
	}
	partSize := c.cfg.PartSize
	if n := int64(len(start.Parts)); n != ceilDiv(it.size, partSize) {
		// The server ignored part_size: it must have used its default.
		if n != ceilDiv(it.size, DefaultPartSize) {
			return nil, &APIError{StatusCode: http.StatusOK, Method: http.MethodPost, URL: c.uploadBase + "/multipart/start/",
				Message: fmt.Sprintf("%d part URLs for %d bytes fit no known part size", n, it.size)}
		}
		partSize = DefaultPartSize
	}
	m := &MultipartUpload{
		UUID: start.UUID, Filename: it.filename, ContentType: it.contentType, Size: it.size, PartSize: partSize,
		PartURLs: start.Parts, Done: make([]bool, len(start.Parts)), client: c, src: it.ra,
	}
	return m.run(ctx, prog)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func (m *MultipartUpload) partLen(i int) int64 {
	off := int64(i) * m.PartSize
	return min(m.PartSize, m.Size-off)
}

// run sends the missing parts in parallel and completes the upload. After
// a part fails for good no new part starts, but parts under way finish (so
// a resume has less to send).
func (m *MultipartUpload) run(ctx context.Context, prog *progress) (*UploadedFile, error) {
	c := m.client
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	stop := make(chan struct{})
	failed := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = err
			close(stop)
		}
	}
	jobs := make(chan int)
	for range c.cfg.PartConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := c.putPart(ctx, m, i, prog); err != nil {
					failed(err)
					continue
				}
				m.mu.Lock()
				m.Done[i] = true
				m.mu.Unlock()
			}
		}()
	}
	m.mu.Lock()
	todo := make([]int, 0, len(m.Done))
	for i, d := range m.Done {
		if !d {
			todo = append(todo, i)
		}
	}
	m.mu.Unlock()
feed:
	for _, i := range todo {
		select {
		case jobs <- i:
		case <-stop:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctxError(ctx, &request{method: "PUT", url: "multipart part"})
	}
	if firstErr != nil {
		return nil, &MultipartUploadError{Upload: m, Err: firstErr}
	}
	var f UploadedFile
	err := c.uploadCall(ctx, http.MethodPost, "/multipart/complete/", url.Values{
		"UPLOADCARE_PUB_KEY": {c.cfg.PublicKey}, "uuid": {m.UUID},
	}, &f)
	if err != nil {
		return nil, &MultipartUploadError{Upload: m, Err: err}
	}
	m.Close()
	return &f, nil
}

// putPart sends part i, retrying it on network errors, throttling and
// server errors.
func (c *Client) putPart(ctx context.Context, m *MultipartUpload, i int, prog *progress) error {
	off, n := int64(i)*m.PartSize, m.partLen(i)
	backoff := c.cfg.RetryBackoff
	ctype := m.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	for attempt := 0; ; attempt++ {
		r := &request{
			method: http.MethodPut, url: m.PartURLs[i], client: c.upload, noTimeout: true, ownRetries: true,
			header: http.Header{"Content-Type": {ctype}}, length: n,
			bodyFn: func() io.Reader { return io.NewSectionReader(m.src, off, n) },
		}
		resp, err := c.do(ctx, r)
		if err == nil && resp.status/100 == 2 {
			prog.add(n)
			return nil
		}
		var wait time.Duration
		retry := false
		if err != nil {
			var ce *APIConnectionError
			retry = errors.As(err, &ce)
		} else {
			switch {
			case resp.status == http.StatusTooManyRequests:
				retry, wait = true, retryAfter(resp.header)
			case resp.status == http.StatusRequestTimeout || resp.status >= 500:
				retry = true
			}
			err = decodeUpload(r, resp, nil)
		}
		if ctx.Err() != nil {
			return ctxError(ctx, r)
		}
		if !retry || attempt >= c.cfg.PartRetries {
			return fmt.Errorf("part %d: %w", i+1, err)
		}
		if wait <= 0 {
			wait = jitter(backoff)
			backoff *= 2
		}
		if err := sleep(ctx, min(wait, c.cfg.MaxRetryWait)); err != nil {
			return ctxError(ctx, r)
		}
	}
}
