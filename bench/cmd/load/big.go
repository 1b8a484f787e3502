package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fileBody returns a request body of the n bytes of path at off.
//
// net/http hands a body that is a syscall.Conn to sendfile(2) (through the
// Content-Length limit it wraps around it), so the client sends from the page
// cache without copying through user space and leaves the two CPUs to the
// servers as much as it can. After the copy the transport reads on to check
// that the body has no extra bytes; Read stops at off+n for that, based on the
// file offset that sendfile advanced. There is deliberately no WriteTo.
func fileBody(path string, off, n int64) (*fileSection, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &fileSection{f: f, end: off + n}, nil
}

type fileSection struct {
	f   *os.File
	end int64
}

func (s *fileSection) Read(p []byte) (int, error) {
	pos, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if pos >= s.end {
		return 0, io.EOF
	}
	return s.f.Read(p[:min(int64(len(p)), s.end-pos)])
}

func (s *fileSection) Close() error                          { return s.f.Close() }
func (s *fileSection) SyscallConn() (syscall.RawConn, error) { return s.f.SyscallConn() }

// do sends req and returns the body of a response with status want.
func do(c *http.Client, req *http.Request, want int) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: status %d, want %d: %.300s", req.Method, req.URL.Path, resp.StatusCode, want, b)
	}
	return resp, b, nil
}

func postForm(c *http.Client, u string, v url.Values) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, b, err := do(c, req, http.StatusOK)
	return b, err
}

// cmdMultipart uploads size bytes of the data file through Satchel's
// multipart API: start, every part PUT by a pool of workers, complete.
func cmdMultipart(args []string) error {
	var cm common
	fs := flag.NewFlagSet("multipart", flag.ExitOnError)
	cm.register(fs)
	base := fs.String("url", "", "Satchel base URL, e.g. http://127.0.0.1:18080")
	pub := fs.String("pub", "", "public key")
	data := fs.String("data", "", "data file")
	size := fs.Int64("size", 1<<30, "bytes to upload")
	partSize := fs.Int64("part-size", 5242880, "part size")
	workers := fs.Int("workers", 4, "parts in flight")
	fs.Parse(args)
	c := newClient(*workers)
	cm.start()
	t0 := time.Now()
	b, err := postForm(c, *base+"/multipart/start/", url.Values{
		"UPLOADCARE_PUB_KEY": {*pub}, "UPLOADCARE_STORE": {"1"}, "filename": {"big.bin"},
		"size": {strconv.FormatInt(*size, 10)}, "content_type": {"application/octet-stream"},
		"part_size": {strconv.FormatInt(*partSize, 10)},
	})
	if err != nil {
		return err
	}
	var start struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal(b, &start); err != nil {
		return fmt.Errorf("start: %w: %.200s", err, b)
	}
	if want := (*size + *partSize - 1) / *partSize; int64(len(start.Parts)) != want {
		return fmt.Errorf("start: %d part URLs, want %d", len(start.Parts), want)
	}
	next := make(chan int)
	errc := make(chan error, *workers)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				off := int64(i) * *partSize
				n := min(*partSize, *size-off)
				body, err := fileBody(*data, off, n)
				if err != nil {
					errc <- err
					return
				}
				req, err := http.NewRequest(http.MethodPut, start.Parts[i], body)
				if err != nil {
					body.Close()
					errc <- err
					return
				}
				req.ContentLength = n
				req.Header.Set("Content-Type", "application/octet-stream")
				if _, _, err := do(c, req, http.StatusOK); err != nil {
					errc <- fmt.Errorf("part %d: %w", i+1, err)
					return
				}
			}
		}()
	}
	var sendErr error
feed:
	for i := range start.Parts {
		select {
		case next <- i:
		case sendErr = <-errc:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errc)
	if sendErr == nil {
		sendErr = <-errc
	}
	if sendErr != nil {
		return sendErr
	}
	b, err = postForm(c, *base+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {*pub}, "uuid": {start.UUID}})
	if err != nil {
		return err
	}
	var done struct {
		Size int64 `json:"size"`
	}
	if err := json.Unmarshal(b, &done); err != nil || done.Size != *size {
		return fmt.Errorf("complete: size %d, want %d (%v): %.200s", done.Size, *size, err, b)
	}
	secs := time.Since(t0).Seconds()
	cm.finish(Result{Bytes: *size, Seconds: secs, Requests: 1, P50: secs * 1000, P99: secs * 1000})
	return nil
}

// cmdDirect posts a prebuilt multipart/form-data body (load gen -direct-body)
// to Satchel's POST /base/.
func cmdDirect(args []string) error {
	var cm common
	fs := flag.NewFlagSet("direct", flag.ExitOnError)
	cm.register(fs)
	base := fs.String("url", "", "Satchel base URL")
	bodyPath := fs.String("body", "", "prebuilt form body")
	size := fs.Int64("size", 100e6, "file bytes inside the body (for MB/s)")
	fs.Parse(args)
	st, err := os.Stat(*bodyPath)
	if err != nil {
		return err
	}
	c := newClient(1)
	cm.start()
	t0 := time.Now()
	body, err := fileBody(*bodyPath, 0, st.Size())
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, *base+"/base/", body)
	if err != nil {
		body.Close()
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", formContentType)
	_, b, err := do(c, req, http.StatusOK)
	if err != nil {
		return err
	}
	var out struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.File == "" {
		return fmt.Errorf("unexpected answer: %.200s", b)
	}
	secs := time.Since(t0).Seconds()
	cm.finish(Result{Bytes: *size, Seconds: secs, Requests: 1, P50: secs * 1000, P99: secs * 1000})
	return nil
}

// cmdTus uploads size bytes of the data file to a tus server: one creation
// POST, then the whole body in one PATCH.
func cmdTus(args []string) error {
	var cm common
	fs := flag.NewFlagSet("tus", flag.ExitOnError)
	cm.register(fs)
	base := fs.String("url", "", "tus creation URL, e.g. http://127.0.0.1:18081/files/")
	data := fs.String("data", "", "data file")
	size := fs.Int64("size", 1<<30, "bytes to upload")
	fs.Parse(args)
	c := newClient(1)
	cm.start()
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodPost, *base, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.FormatInt(*size, 10))
	resp, _, err := do(c, req, http.StatusCreated)
	if err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("creation: %w", err)
	}
	body, err := fileBody(*data, 0, *size)
	if err != nil {
		return err
	}
	req, err = http.NewRequest(http.MethodPatch, loc.String(), body)
	if err != nil {
		body.Close()
		return err
	}
	req.ContentLength = *size
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, _, err = do(c, req, http.StatusNoContent)
	if err != nil {
		return err
	}
	if got := resp.Header.Get("Upload-Offset"); got != strconv.FormatInt(*size, 10) {
		return errors.New("PATCH: Upload-Offset " + got)
	}
	secs := time.Since(t0).Seconds()
	cm.finish(Result{Bytes: *size, Seconds: secs, Requests: 1, P50: secs * 1000, P99: secs * 1000})
	return nil
}

// cmdPut sends size bytes of the data file as one raw PUT (the ceiling's
// PUT /put/).
func cmdPut(args []string) error {
	var cm common
	fs := flag.NewFlagSet("put", flag.ExitOnError)
	cm.register(fs)
	u := fs.String("url", "", "PUT URL, e.g. http://127.0.0.1:18082/put/")
	data := fs.String("data", "", "data file")
	size := fs.Int64("size", 1<<30, "bytes to upload")
	fs.Parse(args)
	c := newClient(1)
	cm.start()
	t0 := time.Now()
	body, err := fileBody(*data, 0, *size)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, *u, body)
	if err != nil {
		body.Close()
		return err
	}
	req.ContentLength = *size
	req.Header.Set("Content-Type", "application/octet-stream")
	if _, _, err := do(c, req, http.StatusOK); err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	cm.finish(Result{Bytes: *size, Seconds: secs, Requests: 1, P50: secs * 1000, P99: secs * 1000})
	return nil
}
