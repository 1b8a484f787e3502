package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satchel-project/satchel/server"
)

// embeddedNode runs a node on SQLite and disk in dataDir, in process.
func embeddedNode(t *testing.T, dataDir string) (*server.Server, string) {
	t.Helper()
	s, err := server.New(context.Background(), server.Config{
		DataDir: dataDir, DemoPublicKey: "backuppub", DemoSecretKey: "backupsecret",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts.URL
}

// postFile uploads data directly and returns the new file's UUID.
func postFile(base string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("UPLOADCARE_PUB_KEY", "backuppub")
	mw.WriteField("UPLOADCARE_STORE", "1")
	w, _ := mw.CreateFormFile("file", "f.bin")
	w.Write(data)
	mw.Close()
	resp, err := http.Post(base+"/base/", mw.FormDataContentType(), &body)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("upload: %d %s", resp.StatusCode, b)
	}
	var out map[string]string
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out["file"], nil
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBackupWhileUploadingAndRestore backs a node up while uploads keep
// arriving, restores the backup into a fresh data dir and proves a node on
// it serves every file acknowledged before the backup began, byte for byte.
func TestBackupWhileUploadingAndRestore(t *testing.T) {
	dataDir := t.TempDir()
	_, base := embeddedNode(t, dataDir)
	want := map[string][]byte{}
	for i := 0; i < 20; i++ {
		data := randomData(t, 1000+i*7919)
		id, err := postFile(base, data)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = data
	}

	// Uploads go on while the backup runs.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var during atomic.Int64
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				data := make([]byte, 50_000)
				rand.Read(data)
				if _, err := postFile(base, data); err != nil {
					errs <- err
					return
				}
				during.Add(1)
			}
		}()
	}
	backupDir := filepath.Join(t.TempDir(), "backup")
	for during.Load() < 4 {
		time.Sleep(5 * time.Millisecond) // let the concurrent uploads get going
	}
	err := run(context.Background(), []string{"backup", "--data-dir", dataDir, backupDir}, io.Discard, io.Discard)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent upload: %v", err)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("%d uploads ran alongside the backup", during.Load())

	restored := filepath.Join(t.TempDir(), "restored")
	if err := run(context.Background(), []string{"restore", "--data-dir", restored, backupDir}, io.Discard, io.Discard); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if err := run(context.Background(), []string{"restore", "--data-dir", restored, backupDir}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a used data dir: %v", err)
	}
	_, base2 := embeddedNode(t, restored)
	for id, data := range want {
		resp, err := http.Get(base2 + "/" + id + "/")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, data) {
			t.Fatalf("restored %s: %d, %d bytes, want %d bytes", id, resp.StatusCode, len(got), len(data))
		}
	}
	// The restored node takes new uploads too.
	if _, err := postFile(base2, []byte("after restore")); err != nil {
		t.Fatal(err)
	}
}

// TestBackupRefusesExternalStores: PostgreSQL and S3 are backed up with
// their own tools.
func TestBackupRefusesExternalStores(t *testing.T) {
	err := run(context.Background(), []string{"backup", "--database-url", "postgres://x/y", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup with a database URL: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o600)
	if err := run(context.Background(), []string{"restore", "--data-dir", t.TempDir(), dir}, io.Discard, io.Discard); err == nil {
		t.Fatal("restore of a directory that is no backup succeeded")
	}
}
