package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/ucare"
)

// progressLog records progress reports and checks they only go up.
type progressLog struct {
	mu  sync.Mutex
	got []ucare.Progress
}

func (p *progressLog) fn(pr ucare.Progress) {
	p.mu.Lock()
	p.got = append(p.got, pr)
	p.mu.Unlock()
}

func (p *progressLog) check(t *testing.T, total int64) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.got) < 2 {
		t.Fatalf("progress reported %d times, want at least 2: %v", len(p.got), p.got)
	}
	for i, pr := range p.got {
		if pr.Total != total {
			t.Fatalf("progress %d: total %d, want %d", i, pr.Total, total)
		}
		if i > 0 && pr.Done < p.got[i-1].Done {
			t.Fatalf("progress went back: %v", p.got)
		}
	}
	if last := p.got[len(p.got)-1]; last.Done != total {
		t.Fatalf("last progress %v, want done=%d", last, total)
	}
}

func download(t *testing.T, c *ucare.Client, uuid string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.Download(context.Background(), c.CDNURL(uuid, nil), &buf); err != nil {
		t.Fatalf("download %s: %v", uuid, err)
	}
	return buf.Bytes()
}

func TestDirectUpload(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	for _, auth := range []ucare.AuthScheme{ucare.AuthSigned, ucare.AuthSimple} {
		c := n.client(t, func(c *ucare.Config) { c.Auth = auth })
		data := testdata(300_000, 1)
		var pl progressLog
		f, err := c.Upload(ctx, bytes.NewReader(data), &ucare.UploadOptions{
			Filename: "photo one.bin", Store: ucare.StoreTrue,
			Metadata: map[string]string{"subsystem": "tests", "auth": "x"}, Tags: []string{"Cat", "dog"},
			Progress: pl.fn,
		})
		if err != nil {
			t.Fatalf("auth %d: upload: %v", auth, err)
		}
		pl.check(t, int64(len(data)))
		if f.Size != int64(len(data)) || f.OriginalFilename != "photo one.bin" || !f.IsStored || f.Metadata["subsystem"] != "tests" {
			t.Fatalf("upload info: %+v", f)
		}
		info, err := c.FileInfo(ctx, f.UUID, nil)
		if err != nil {
			t.Fatalf("auth %d: file info: %v", auth, err)
		}
		if info.UUID != f.UUID || !info.IsStored() || info.Size != int64(len(data)) || !slices.Equal(info.Tags, []string{"cat", "dog"}) {
			t.Fatalf("file info: %+v", info)
		}
		if info.OriginalFileURL == nil || !strings.HasPrefix(*info.OriginalFileURL, n.URL+"/"+f.UUID+"/") {
			t.Fatalf("original_file_url %v", info.OriginalFileURL)
		}
		if got := download(t, c, f.UUID); !bytes.Equal(got, data) {
			t.Fatalf("downloaded %d bytes, want the %d uploaded", len(got), len(data))
		}
	}
}

func TestUploadNamesAndTypes(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	c := n.client(t, nil)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(path, []byte("some notes\n"), 0o600)
	f, err := c.UploadFile(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.OriginalFilename != "notes.txt" || !strings.HasPrefix(f.MimeType, "text/plain") {
		t.Fatalf("file upload: %+v", f)
	}
	// A reader that cannot seek, read from its current state.
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte("streamed")); pw.Close() }()
	f, err = c.Upload(ctx, pr, &ucare.UploadOptions{Store: ucare.StoreFalse})
	if err != nil {
		t.Fatal(err)
	}
	if f.OriginalFilename != "original" || f.Size != 8 || f.IsStored {
		t.Fatalf("pipe upload: %+v", f)
	}
	// A seekable reader is uploaded from its current offset.
	r := strings.NewReader("skip:kept")
	r.Seek(5, io.SeekStart)
	f, err = c.Upload(ctx, r, &ucare.UploadOptions{Filename: "k.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if got := download(t, c, f.UUID); string(got) != "kept" {
		t.Fatalf("uploaded %q, want \"kept\"", got)
	}
}

func TestUploadFiles(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	c := n.client(t, nil)
	ctx := context.Background()
	big := testdata(11<<20, 9)
	items := []ucare.UploadItem{
		{Reader: strings.NewReader("one"), Filename: "1.txt"},
		{Reader: bytes.NewReader(big), Filename: "big.bin"},
		{Reader: strings.NewReader("three"), Filename: "3.txt"},
	}
	var pl progressLog
	files, err := c.UploadFiles(ctx, items, &ucare.UploadOptions{Store: ucare.StoreTrue, Progress: pl.fn})
	if err != nil {
		t.Fatal(err)
	}
	pl.check(t, int64(3+len(big)+5))
	names := []string{}
	for _, f := range files {
		names = append(names, f.OriginalFilename)
	}
	if !slices.Equal(names, []string{"1.txt", "big.bin", "3.txt"}) {
		t.Fatalf("order: %v", names)
	}
	if got := download(t, c, files[2].UUID); string(got) != "three" {
		t.Fatalf("3.txt: %q", got)
	}
	if got := download(t, c, files[1].UUID); !bytes.Equal(got, big) {
		t.Fatal("big.bin differs")
	}
}

// TestMultipartPartRetry fails the first PUT of part 2: the part is retried
// and the file arrives intact.
func TestMultipartPartRetry(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ft := newFaulty(func(r *http.Request, seen int) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" && seen == 1
	})
	c := n.client(t, func(c *ucare.Config) {
		c.UploadHTTPClient = &http.Client{Transport: ft}
		c.RetryBackoff = 10 * time.Millisecond
	})
	data := testdata(23<<20+12345, 2) // 5 parts of 5 MiB
	var pl progressLog
	f, err := c.Upload(context.Background(), bytes.NewReader(data), &ucare.UploadOptions{Filename: "big.bin", Progress: pl.fn})
	if err != nil {
		t.Fatal(err)
	}
	pl.check(t, int64(len(data)))
	if f.Size != int64(len(data)) || f.UUID == "" {
		t.Fatalf("info: %+v", f)
	}
	path := "/multipart/part/" + f.UUID + "/"
	if got := ft.count("PUT " + path + "#2"); got != 2 {
		t.Fatalf("part 2 sent %d times, want 2 (one failure, one retry)", got)
	}
	for _, p := range []string{"1", "3", "4", "5"} {
		if got := ft.count("PUT " + path + "#" + p); got != 1 {
			t.Fatalf("part %s sent %d times, want 1", p, got)
		}
	}
	if got := download(t, c, f.UUID); !bytes.Equal(got, data) {
		t.Fatal("downloaded content differs from the upload")
	}
}

// TestMultipartResume makes part 3 fail past its retries, then resumes: only
// the missing part goes up again. The state also survives JSON.
func TestMultipartResume(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	broken := true
	var mu sync.Mutex
	ft := newFaulty(func(r *http.Request, seen int) bool {
		mu.Lock()
		defer mu.Unlock()
		return broken && r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "3"
	})
	c := n.client(t, func(c *ucare.Config) {
		c.UploadHTTPClient = &http.Client{Transport: ft}
		c.RetryBackoff = time.Millisecond
		c.PartRetries = 2
	})
	data := testdata(16<<20, 3) // 4 parts
	// A non-seekable reader: the SDK keeps a temporary copy for Resume.
	_, err := c.Upload(context.Background(), io.MultiReader(bytes.NewReader(data)), &ucare.UploadOptions{Filename: "r.bin"})
	var me *ucare.MultipartUploadError
	if !errors.As(err, &me) {
		t.Fatalf("want a *MultipartUploadError, got %v", err)
	}
	up := me.Upload
	if up.Remaining() != 1 || up.Done[2] {
		t.Fatalf("state after failure: done %v", up.Done)
	}
	if got := ft.count("PUT /multipart/part/" + up.UUID + "/#3"); got != 3 {
		t.Fatalf("part 3 tried %d times, want 3", got)
	}
	mu.Lock()
	broken = false
	mu.Unlock()
	var pl progressLog
	f, err := up.Resume(context.Background(), nil, pl.fn)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	pl.check(t, int64(len(data)))
	if pl.got[0].Done != int64(len(data))-up.PartSize {
		t.Fatalf("resume started at %d", pl.got[0].Done)
	}
	for _, p := range []string{"1", "2", "4"} {
		if got := ft.count("PUT /multipart/part/" + up.UUID + "/#" + p); got != 1 {
			t.Fatalf("part %s sent %d times, want 1", p, got)
		}
	}
	if got := download(t, c, f.UUID); !bytes.Equal(got, data) {
		t.Fatal("resumed upload differs")
	}

	// A second failure, saved as JSON and resumed by a new client from a file.
	mu.Lock()
	broken = true
	mu.Unlock()
	path := filepath.Join(t.TempDir(), "s.bin")
	os.WriteFile(path, data, 0o600)
	fh, _ := os.Open(path)
	defer fh.Close()
	_, err = c.Upload(context.Background(), fh, &ucare.UploadOptions{Method: ucare.UploadMultipart})
	if !errors.As(err, &me) {
		t.Fatalf("want a *MultipartUploadError, got %v", err)
	}
	saved, err := json.Marshal(me.Upload)
	if err != nil {
		t.Fatal(err)
	}
	var state ucare.MultipartUpload
	if err := json.Unmarshal(saved, &state); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	broken = false
	mu.Unlock()
	c2 := n.client(t, nil)
	if _, err := c2.ResumeMultipart(context.Background(), &state, nil, nil); err == nil {
		t.Fatal("resume without content succeeded")
	}
	fh2, _ := os.Open(path)
	defer fh2.Close()
	f, err = c2.ResumeMultipart(context.Background(), &state, fh2, nil)
	if err != nil {
		t.Fatalf("resume from JSON: %v", err)
	}
	if f.OriginalFilename != "s.bin" || !bytes.Equal(download(t, c2, f.UUID), data) {
		t.Fatalf("resumed from JSON: %+v", f)
	}
}

// TestMultipartCancelResume cancels an upload midway (a pause) and resumes it.
func TestMultipartCancelResume(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ft := newFaulty(func(r *http.Request, seen int) bool {
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" {
			cancel()
		}
		return false
	})
	c := n.client(t, func(c *ucare.Config) {
		c.UploadHTTPClient = &http.Client{Transport: ft}
		c.PartConcurrency = 1
	})
	data := testdata(12<<20, 4)
	_, err := c.Upload(ctx, bytes.NewReader(data), nil)
	var me *ucare.MultipartUploadError
	if !errors.As(err, &me) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want a resumable cancellation, got %v", err)
	}
	f, err := me.Upload.Resume(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(download(t, c, f.UUID), data) {
		t.Fatal("content differs")
	}
}

func TestFromURL(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	c := n.client(t, nil)
	ctx := context.Background()
	body := testdata(70_000, 5)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}))
	defer src.Close()

	token, err := c.UploadFromURL(ctx, src.URL+"/a.bin", &ucare.FromURLOptions{Store: ucare.StoreTrue, CheckDuplicates: true, Metadata: map[string]string{"k": "v"}})
	if err != nil || token == "" {
		t.Fatalf("token %q, %v", token, err)
	}
	var last ucare.Progress
	f, err := c.WaitFromURL(ctx, token, &ucare.FromURLOptions{PollInterval: 20 * time.Millisecond, Progress: func(p ucare.Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != int64(len(body)) || f.OriginalFilename != "a.bin" || !f.IsStored || f.Metadata["k"] != "v" {
		t.Fatalf("from URL: %+v", f)
	}
	if last.Done != int64(len(body)) || last.Total != int64(len(body)) {
		t.Fatalf("last progress %+v", last)
	}
	st, err := c.FromURLStatus(ctx, token)
	if err != nil || st.Status != "success" || st.File.UUID != f.UUID {
		t.Fatalf("status: %+v, %v", st, err)
	}
	// The same URL with duplicate checking: the earlier file.
	_, err = c.UploadFromURL(ctx, src.URL+"/a.bin", &ucare.FromURLOptions{CheckDuplicates: true})
	var dup *ucare.DuplicateFileError
	if !errors.As(err, &dup) || dup.File.UUID != f.UUID {
		t.Fatalf("duplicate: %v", err)
	}
	g, err := c.UploadFromURLAndWait(ctx, src.URL+"/a.bin", &ucare.FromURLOptions{CheckDuplicates: true})
	if err != nil || g.UUID != f.UUID {
		t.Fatalf("waiting duplicate: %v %v", g, err)
	}
	// Without the check, a new file, with a chosen name.
	h, err := c.UploadFromURLAndWait(ctx, src.URL+"/a.bin", &ucare.FromURLOptions{Filename: "renamed.bin", PollInterval: 10 * time.Millisecond})
	if err != nil || h.UUID == f.UUID || h.OriginalFilename != "renamed.bin" {
		t.Fatalf("second upload: %+v %v", h, err)
	}
	// A failing fetch.
	_, err = c.UploadFromURLAndWait(ctx, src.URL+"/missing.png", &ucare.FromURLOptions{PollInterval: 10 * time.Millisecond})
	var ue *ucare.UploadError
	if !errors.As(err, &ue) || ue.Code == "" {
		t.Fatalf("missing source: %v", err)
	}
	// Unknown token.
	if _, err := c.WaitFromURL(ctx, "no-such-token", nil); !errors.As(err, &ue) {
		t.Fatalf("unknown token: %v", err)
	}
	// A URL the server refuses outright.
	_, err = c.UploadFromURL(ctx, "ftp://example.com/x", nil)
	var ir *ucare.InvalidRequestError
	if !errors.As(err, &ir) || ir.Code == "" {
		t.Fatalf("bad URL: %v", err)
	}
}

func TestSignedUploads(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, func(p *satchel.Project) { p.SignedUploads = true })
	ctx := context.Background()
	unsigned := n.client(t, nil)
	_, err := unsigned.Upload(ctx, strings.NewReader("x"), nil)
	var ir *ucare.InvalidRequestError
	if !errors.As(err, &ir) || ir.Code != "SignatureRequiredError" {
		t.Fatalf("unsigned upload: %v", err)
	}
	signed := n.client(t, func(c *ucare.Config) { c.SignedUploads = true; c.SignedUploadTTL = time.Minute })
	f, err := signed.Upload(ctx, strings.NewReader("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signed.Upload(ctx, bytes.NewReader(testdata(10<<20, 6)), nil); err != nil {
		t.Fatalf("signed multipart: %v", err)
	}
	if _, err := signed.UploadFromURL(ctx, signed.CDNURL(f.UUID, nil), nil); err != nil {
		t.Fatalf("signed from URL: %v", err)
	}
	if _, err := signed.CreateGroup(ctx, []string{f.UUID}); err != nil {
		t.Fatalf("signed group: %v", err)
	}
	wrong := n.client(t, func(c *ucare.Config) { c.SignedUploads = true; c.SecretKey = "not-the-secret" })
	_, err = wrong.Upload(ctx, strings.NewReader("x"), nil)
	var ae *ucare.AuthenticationError
	if !errors.As(err, &ae) || ae.Code != "SignatureInvalidError" {
		t.Fatalf("badly signed upload: %v", err)
	}
	if _, err := ucare.NewClient(ucare.Config{PublicKey: "p", SignedUploads: true}); err == nil {
		t.Fatal("signed uploads without a secret accepted")
	}
}

func TestUploadErrors(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	c := n.client(t, func(c *ucare.Config) { c.PublicKey = "nosuchkey" })
	_, err := c.Upload(ctx, strings.NewReader("x"), nil)
	var ae *ucare.AuthenticationError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || ae.Code != "ProjectPublicKeyInvalidError" {
		t.Fatalf("bad public key: %v", err)
	}
	var api *ucare.APIError
	if !errors.As(err, &api) {
		t.Fatal("an AuthenticationError is not an APIError")
	}
	good := n.client(t, nil)
	if _, err := good.UploadInfo(ctx, "00000000-0000-4000-8000-000000000000"); !ucare.IsNotFound(err) {
		t.Fatalf("unknown file: %v", err)
	}
	// Multipart below the minimum size: the server refuses.
	_, err = good.Upload(ctx, strings.NewReader("small"), &ucare.UploadOptions{Method: ucare.UploadMultipart})
	var ir *ucare.InvalidRequestError
	if !errors.As(err, &ir) || ir.Code != "MultipartFileSizeTooSmallError" {
		t.Fatalf("small multipart: %v", err)
	}
}
