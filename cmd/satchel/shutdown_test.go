package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// SIGTERM while an upload is in flight: the process stops accepting, lets
// the upload finish (or, past --shutdown-timeout, cuts it), closes the store
// after the last handler and exits 0. A clean drain removes the running
// marker; a cut one keeps it, so the next start recovers.
func TestShutdownDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the satchel binary; skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGTERM")
	}
	h := newCrashHarness(t)

	t.Run("drained", func(t *testing.T) {
		h := &crashHarness{t: t, bin: h.bin, dataDir: t.TempDir(), addr: freeLoopbackAddr(t), ledger: h.ledger}
		p := startSatchel(t, h.bin, h.addr, h.dataDir, crashPub, crashSecret)
		data := bytes.Repeat([]byte("satchel shutdown test\n"), 50_000)
		u := startRawBase(t, h.addr, data, 1000)
		waitForBlobWriter(t, p, h.dataDir)
		sigterm(t, p)
		waitListenerClosed(t, h.addr)
		status, body := u.finish(t)
		if status != http.StatusOK {
			t.Fatalf("upload in flight at SIGTERM: HTTP %d %q, want 200", status, body)
		}
		var answer struct{ File string }
		json.Unmarshal(body, &answer)
		id := answer.File
		if !satchel.ValidUUID(id) {
			t.Fatalf("upload answered %q, want a file uuid", body)
		}
		waitExit(t, p, 20*time.Second)
		if p.waitErr != nil {
			t.Errorf("satchel exited with %v after SIGTERM, want 0", p.waitErr)
		}
		if _, err := os.Stat(filepath.Join(h.dataDir, "running")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("running marker left after a clean drain (stat: %v)", err)
		}
		p = startSatchel(t, h.bin, h.addr, h.dataDir, crashPub, crashSecret)
		h.checkFile(p, ackedFile{uuid: id, size: int64(len(data)), sum: sha256.Sum256(data), what: "upload finished during shutdown"}, 1)
	})

	t.Run("cut at the deadline", func(t *testing.T) {
		h := &crashHarness{t: t, bin: h.bin, dataDir: t.TempDir(), addr: freeLoopbackAddr(t), ledger: h.ledger}
		p := startSatchel(t, h.bin, h.addr, h.dataDir, crashPub, crashSecret, "--shutdown-timeout", "1s")
		u := startRawBase(t, h.addr, bytes.Repeat([]byte("x"), 1<<20), 1000)
		waitForBlobWriter(t, p, h.dataDir)
		sigterm(t, p)
		// The client never sends the rest: at the deadline the upload is cut.
		u.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		if resp, err := http.ReadResponse(u.br, nil); err == nil {
			t.Errorf("stalled upload answered HTTP %d, want the connection cut", resp.StatusCode)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("stalled upload still connected 20s after SIGTERM")
		}
		waitExit(t, p, 20*time.Second)
		if p.waitErr != nil {
			t.Errorf("satchel exited with %v after SIGTERM, want 0", p.waitErr)
		}
		if _, err := os.Stat(filepath.Join(h.dataDir, "running")); err != nil {
			t.Errorf("running marker removed although an upload was cut (stat: %v)", err)
		}
		if out := p.out.String(); strings.Contains(out, "panic") {
			t.Errorf("satchel panicked while stopping:\n%s", out)
		}
		// The next start recovers and serves uploads again.
		p = startSatchel(t, h.bin, h.addr, h.dataDir, crashPub, crashSecret)
		if !waitOutput(p, "recovered after unclean stop", 10*time.Second) {
			t.Errorf("the restart did not recover after the cut drain")
		}
		data := []byte("after the restart\n")
		id, status, body, err := uploadDirect(t.Context(), p.client, p.base, data, "after.txt")
		if err != nil || status != http.StatusOK {
			t.Fatalf("upload after the restart: %v HTTP %d %q", err, status, body)
		}
		h.checkFile(p, ackedFile{uuid: id, size: int64(len(data)), sum: sha256.Sum256(data), what: "upload after restart"}, 1)
	})
}

// rawBase is a /base/ upload written by hand, so the test decides when the
// rest of the body goes out.
type rawBase struct {
	conn net.Conn
	br   *bufio.Reader
	rest []byte
}

// startRawBase sends the headers of a /base/ upload of data (public key
// first) and the body up to `sent` bytes of the file.
func startRawBase(t *testing.T, addr string, data []byte, sent int) *rawBase {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("UPLOADCARE_PUB_KEY", crashPub)
	mw.WriteField("UPLOADCARE_STORE", "1")
	fw, err := mw.CreateFormFile("file", "shutdown.txt")
	if err != nil {
		t.Fatal(err)
	}
	head := buf.Len()
	fw.Write(data)
	mw.Close()
	body := buf.Bytes()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /base/ HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", addr, mw.FormDataContentType(), len(body))
	if _, err := conn.Write(body[:head+sent]); err != nil {
		t.Fatal(err)
	}
	return &rawBase{conn: conn, br: bufio.NewReader(conn), rest: body[head+sent:]}
}

// finish sends the rest of the body and reads the answer.
func (u *rawBase) finish(t *testing.T) (int, []byte) {
	t.Helper()
	if _, err := u.conn.Write(u.rest); err != nil {
		t.Fatalf("send the rest of the upload: %v", err)
	}
	u.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(u.br, nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	return resp.StatusCode, body
}

// waitForBlobWriter waits until the server is writing the blob of an upload: the
// upload is in flight.
func waitForBlobWriter(t *testing.T, p *satchelProcess, dataDir string) {
	t.Helper()
	files := filepath.Join(dataDir, "files")
	fdDir := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// A temporary file under tmp/, or (where blobs are written as
		// unnamed files in their shard) a descriptor open on the blob store.
		found := false
		filepath.WalkDir(filepath.Join(files, "tmp"), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				found = true
			}
			return nil
		})
		if fds, err := os.ReadDir(fdDir); err == nil && !found {
			for _, fd := range fds {
				if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && strings.HasPrefix(target, filepath.Join(files, "blobs")+"/") {
					found = true
				}
			}
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sigterm(t *testing.T, p *satchelProcess) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}

// waitListenerClosed waits until new connections are refused: the shutdown
// has begun.
func waitListenerClosed(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 20s after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitExit(t *testing.T, p *satchelProcess, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("satchel did not exit within %v of SIGTERM", d)
	}
}

// waitOutput waits until the process has printed s.
func waitOutput(p *satchelProcess, s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !strings.Contains(p.out.String(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
