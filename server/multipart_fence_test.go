package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/server"
)

// forEachBucket runs fn against a node on local disk and, when a test S3
// bucket is configured, against one on S3.
func forEachBucket(t *testing.T, fn func(t *testing.T, s *testServer)) {
	t.Run("disk", func(t *testing.T) {
		fn(t, startServer(t, func(c *server.Config) { c.StorageURL = "" }))
	})
	t.Run("s3", func(t *testing.T) {
		if !testenv.HasS3() {
			t.Skip(testenv.S3URL + " not set")
		}
		fn(t, startServer(t, nil))
	})
}

const fencePartSize = 5242880

// multipartSession starts a 12 MB upload (three parts) and sends every part.
func multipartSession(t *testing.T, s *testServer, data []byte) (id string, parts []string) {
	t.Helper()
	id, parts = startMultipartSession(t, s, data)
	for i, u := range parts {
		off := i * fencePartSize
		end := min(off+fencePartSize, len(data))
		if code, _, body := do(t, "PUT", u, bytes.NewReader(data[off:end]), "application/octet-stream"); code != 200 {
			t.Fatalf("part %d: %d %q", i+1, code, body)
		}
	}
	return id, parts
}

// startMultipartSession starts a 12 MB upload (three parts) and sends none.
func startMultipartSession(t *testing.T, s *testServer, data []byte) (id string, parts []string) {
	t.Helper()
	code, body := postURLEncoded(t, s.URL+"/multipart/start/", url.Values{
		"UPLOADCARE_PUB_KEY": {testPub}, "filename": {"big.bin"},
		"size": {strconv.Itoa(len(data))}, "content_type": {"application/octet-stream"},
	})
	if code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	var st struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Parts) != 3 {
		t.Fatalf("start answer %q: %v", body, err)
	}
	return st.UUID, st.Parts
}

// cutPart sends the first half of a part of length bytes to partURL and
// closes its side of the connection; the answer must be 400.
func cutPart(t *testing.T, partURL string, length int) {
	t.Helper()
	u, err := url.Parse(partURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, length)
	if _, err := conn.Write(bytes.Repeat([]byte{'z'}, length/2)); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("interrupted part answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("interrupted part: %d %q, want 400", resp.StatusCode, b)
	}
}

func completeUpload(t *testing.T, s *testServer, id string) (int, string) {
	t.Helper()
	return postURLEncoded(t, s.URL+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {id}})
}

// completeResending completes an upload and, while the answer is that
// parts are missing, sends every part again and retries (twice at most), as
// a client does: on S3, a first write of a part that was cut off can be
// stored by the server after the part was sent again in full, and then the
// part no longer counts (see TestMultipartLateWriteAfterResend).
func completeResending(t *testing.T, s *testServer, id string, parts []string, data []byte) (int, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		code, body := completeUpload(t, s, id)
		if code != 400 || body != "File size mismatch. Not all parts uploaded?" || attempt == 3 {
			return code, body
		}
		t.Logf("complete: %q; parts sent again", body)
		for i, u := range parts {
			off := i * fencePartSize
			end := min(off+fencePartSize, len(data))
			if code, _, body := do(t, "PUT", u, bytes.NewReader(data[off:end]), "application/octet-stream"); code != 200 {
				t.Fatalf("part %d sent again: %d %q", i+1, code, body)
			}
		}
	}
}

// gatedReader hands out data up to half, signals reached, and then waits
// for open before handing out the rest.
type gatedReader struct {
	data          []byte
	pos, half     int
	reached, open chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.pos == g.half {
		close(g.reached)
		<-g.open
	}
	if g.pos >= len(g.data) {
		return 0, io.EOF
	}
	limit := len(g.data)
	if g.pos < g.half {
		limit = g.half
	}
	n := copy(p, g.data[g.pos:limit])
	g.pos += n
	return n, nil
}

// A part sent again that is still arriving when the upload is completed
// must not change the completed file: the completion goes ahead with the
// part received before, and the late part is refused.
func TestMultipartPartRePutAfterComplete(t *testing.T) {
	forEachBucket(t, func(t *testing.T, s *testServer) {
		data := randomBytes(t, 12_000_000)
		id, parts := multipartSession(t, s, data)

		other := bytes.Repeat([]byte("<html><script>alert(1)</script></html>\n"), fencePartSize/39+1)[:fencePartSize]
		g := &gatedReader{data: other, half: fencePartSize / 2, reached: make(chan struct{}), open: make(chan struct{})}
		req, err := http.NewRequest("PUT", parts[0], g)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = fencePartSize
		req.Header.Set("Content-Type", "application/octet-stream")
		type result struct {
			code int
			body string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			done <- result{code: resp.StatusCode, body: string(b)}
		}()
		<-g.reached

		code, body := completeUpload(t, s, id)
		close(g.open)
		r := <-done
		if code != 200 {
			t.Fatalf("complete during a part re-PUT: %d %q", code, body)
		}
		var info struct {
			MimeType string `json:"mime_type"`
			Size     int64  `json:"size"`
		}
		json.Unmarshal([]byte(body), &info)
		if r.err != nil {
			t.Fatalf("late part: %v", r.err)
		}
		if r.code != 400 || r.body != "File is already uploaded." {
			t.Fatalf("late part after complete: %d %q, want 400 %q", r.code, r.body, "File is already uploaded.")
		}
		resp, got := get(t, s.URL+"/"+id+"/", nil)
		if !bytes.Equal(got, data) {
			t.Fatalf("completed file changed by a late part (%d bytes, first %q)", len(got), got[:min(len(got), 16)])
		}
		if ct := resp.Header.Get("Content-Type"); info.MimeType == "" || ct != info.MimeType {
			t.Fatalf("served as %q, completed as %q", ct, info.MimeType)
		}
		if code, body := completeUpload(t, s, id); code != 400 || body != "File is already uploaded." {
			t.Fatalf("complete again: %d %q", code, body)
		}
	})
}

// A part sent again whose body is cut short no longer counts: completing
// refuses until the part is sent once more, and the result is never a mix
// of the two bodies.
func TestMultipartInterruptedPartRePut(t *testing.T) {
	forEachBucket(t, func(t *testing.T, s *testServer) {
		data := randomBytes(t, 12_000_000)
		id, parts := multipartSession(t, s, data)
		cutPart(t, parts[0], fencePartSize)

		if code, body := completeUpload(t, s, id); code != 400 || body != "File size mismatch. Not all parts uploaded?" {
			t.Fatalf("complete after an interrupted part: %d %q", code, body)
		}
		if code, _, body := do(t, "PUT", parts[0], bytes.NewReader(data[:fencePartSize]), "application/octet-stream"); code != 200 {
			t.Fatalf("part sent again: %d %q", code, body)
		}
		if code, body := completeUpload(t, s, id); code != 200 {
			t.Fatalf("complete: %d %q", code, body)
		}
		if got := download(t, s.URL, id); !bytes.Equal(got, data) {
			t.Fatal("completed bytes differ")
		}
	})
}

// A first write of a part that is cut short (on S3 it is streamed to the
// server as it arrives) does not count: completing refuses until the part
// is sent in full, and then the file holds the full bodies only. Both the
// first part and the shorter last one are cut. (On S3 the server may store
// a cut-off write after the part was sent again: then completion refuses
// once more and the parts are sent again, see completeResending.)
func TestMultipartInterruptedFirstWrite(t *testing.T) {
	forEachBucket(t, func(t *testing.T, s *testServer) {
		data := randomBytes(t, 12_000_000)
		id, parts := startMultipartSession(t, s, data)
		last := len(data) - 2*fencePartSize
		cutPart(t, parts[0], fencePartSize)
		cutPart(t, parts[2], last)
		if code, _, body := do(t, "PUT", parts[1], bytes.NewReader(data[fencePartSize:2*fencePartSize]), "application/octet-stream"); code != 200 {
			t.Fatalf("part 2: %d %q", code, body)
		}
		if code, body := completeUpload(t, s, id); code != 400 || body != "File size mismatch. Not all parts uploaded?" {
			t.Fatalf("complete after interrupted parts: %d %q", code, body)
		}
		if code, _, body := do(t, "PUT", parts[0], bytes.NewReader(data[:fencePartSize]), "application/octet-stream"); code != 200 {
			t.Fatalf("part 1 sent again: %d %q", code, body)
		}
		if code, _, body := do(t, "PUT", parts[2], bytes.NewReader(data[2*fencePartSize:]), "application/octet-stream"); code != 200 {
			t.Fatalf("part 3 sent again: %d %q", code, body)
		}
		if code, body := completeResending(t, s, id, parts, data); code != 200 {
			t.Fatalf("complete: %d %q", code, body)
		}
		if got := download(t, s.URL, id); !bytes.Equal(got, data) {
			t.Fatal("completed bytes differ")
		}
	})
}

// On S3, a part write cut off and then sent again can still land after the
// full one on servers that keep the bytes of cut-off writes. Here the late
// write is shorter and the upload has one part, so the part listing's sizes
// cannot tell; the part's recorded tag does, and no file is made of it. The
// late write is played through the bucket.
func TestMultipartCompleteRefusesShortBlob(t *testing.T) {
	if !testenv.HasS3() {
		t.Skip(testenv.S3URL + " not set")
	}
	s := startServer(t, nil)
	ctx := context.Background()
	p, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 6<<20)
	size := int64(len(data))
	sess, err := s.App.StartChunked(ctx, p, app.UploadOptions{}, "one.bin", "application/octet-stream", size, size)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := do(t, "PUT", s.App.PartURLs(s.URL, sess)[0], bytes.NewReader(data), "application/octet-stream"); code != 200 {
		t.Fatalf("part: %d %q", code, body)
	}
	late := blobstore.PartWrite{Off: 0, Length: size / 2, InPlace: true}
	if _, err := s.Bucket.WritePart(ctx, sess.Upload, late, bytes.NewReader(data[:size/2])); err != nil {
		t.Fatal(err)
	}
	if f, err := s.App.CompleteMultipart(ctx, p, sess.UUID); err == nil {
		t.Fatalf("complete made a file of %d bytes from a blob of %d", f.Size, size/2)
	} else if !isReason(err, satchel.ReasonUploadIncomplete) {
		t.Fatalf("complete with a part replaced: %v, want %s", err, satchel.ReasonUploadIncomplete)
	}
	if f, err := s.Store.File(ctx, p.ID, sess.UUID); err == nil && f != nil {
		t.Fatalf("file %s recorded", f.UUID)
	}
}

// isReason reports whether err is a domain error of the given reason.
func isReason(err error, r satchel.Reason) bool {
	var de *satchel.Error
	return errors.As(err, &de) && de.Reason == r
}

// On S3, a first write of a part that was cut off is streamed, and some
// servers (versitygw) store what arrived, zero-padded to the part's length,
// late: after the client sent the part again in full and it was recorded.
// Completing must not join the zeros: the part no longer counts, completion
// answers that parts are missing (never a file, never a server error), and
// once the part is sent again the upload completes with the right bytes.
// The late write is played through the bucket, after every part was sent.
func TestMultipartLateWriteAfterResend(t *testing.T) {
	if !testenv.HasS3() {
		t.Skip(testenv.S3URL + " not set")
	}
	s := startServer(t, nil)
	ctx := context.Background()
	data := randomBytes(t, 12_000_000)
	id, parts := multipartSession(t, s, data)
	sess, err := s.Store.UploadSession(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	late := bytes.Clone(data[fencePartSize : 2*fencePartSize])
	clear(late[fencePartSize/2:])
	pw := blobstore.PartWrite{Off: fencePartSize, Length: fencePartSize, InPlace: true}
	if _, err := s.Bucket.WritePart(ctx, sess.Upload, pw, bytes.NewReader(late)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // and the part stays forgotten
		if code, body := completeUpload(t, s, id); code != 400 || body != "File size mismatch. Not all parts uploaded?" {
			t.Fatalf("complete after a late write: %d %q", code, body)
		}
	}
	if recorded, err := s.Store.Parts(ctx, id); err != nil || len(recorded) != 2 || recorded[1].Size == 0 || recorded[3].Size == 0 {
		t.Fatalf("parts recorded after the refused completion: %v %v", recorded, err)
	}
	if code, _, body := do(t, "PUT", parts[1], bytes.NewReader(data[fencePartSize:2*fencePartSize]), "application/octet-stream"); code != 200 {
		t.Fatalf("part 2 sent again: %d %q", code, body)
	}
	if code, body := completeUpload(t, s, id); code != 200 {
		t.Fatalf("complete: %d %q", code, body)
	}
	if got := download(t, s.URL, id); !bytes.Equal(got, data) {
		t.Fatal("completed bytes differ")
	}
}
