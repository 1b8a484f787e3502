package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/server"
)

func TestLifecycleSweep(t *testing.T) {
	var dataDir string
	var blobsExpected, uploadsExpected int // on S3 the bucket is checked through the API instead
	s := startServer(t, func(c *server.Config) { dataDir = c.DataDir })
	upload := func(store string) string {
		code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", store}}, file(100))
		if code != 200 {
			t.Fatalf("upload: %d %s", code, body)
		}
		var r map[string]string
		json.Unmarshal([]byte(body), &r)
		return r["file"]
	}
	temp, kept := upload("0"), upload("1")
	code, body := postURLEncoded(t, s.URL+"/multipart/start/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "filename": {"a.bin"}, "size": {"11000000"}, "content_type": {"application/octet-stream"}})
	if code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	var st struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	json.Unmarshal([]byte(body), &st)
	if code, _, body := do(t, "PUT", st.Parts[0], bytes.NewReader(make([]byte, 5242880)), ""); code != 200 {
		t.Fatalf("part: %d %s", code, body)
	}
	countFiles := func(dir string) int {
		if testenv.HasS3() {
			return map[string]int{"blobs": blobsExpected, "multipart": uploadsExpected}[dir]
		}
		n := 0
		filepath.WalkDir(filepath.Join(dataDir, "files", dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	blobsExpected, uploadsExpected = 2, 1
	if countFiles("blobs") != 2 || countFiles("multipart") != 1 {
		t.Fatalf("before sweep: %d blobs, %d uploads", countFiles("blobs"), countFiles("multipart"))
	}

	// A sweep now removes nothing.
	if err := s.App.Sweep(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := do(t, "GET", s.URL+"/"+temp+"/", nil, ""); code != 200 {
		t.Fatalf("temporary file gone too early: %d", code)
	}
	// 25 hours later the temporary file and the abandoned session are gone.
	if err := s.App.Sweep(context.Background(), time.Now().Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := do(t, "GET", s.URL+"/"+temp+"/", nil, ""); code != 404 {
		t.Fatalf("expired temporary file served: %d", code)
	}
	if code, _, _ := do(t, "GET", s.URL+"/info/?pub_key="+testPub+"&file_id="+temp, nil, ""); code != 404 {
		t.Fatalf("expired temporary file info: %d", code)
	}
	if code, _, _ := do(t, "GET", s.URL+"/"+kept+"/", nil, ""); code != 200 {
		t.Fatalf("stored file removed: %d", code)
	}
	code, body = postURLEncoded(t, s.URL+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {st.UUID}})
	if code != 404 || body != "File is not found." {
		t.Fatalf("expired session complete: %d %q", code, body)
	}
	// The expired file's bytes go with its removal job.
	blobsExpected, uploadsExpected = 1, 0
	within(t, "the expired file's bytes to go", func() bool { return countFiles("blobs") == 1 })
	if countFiles("blobs") != 1 || countFiles("multipart") != 0 {
		t.Fatalf("after sweep: %d blobs, %d uploads", countFiles("blobs"), countFiles("multipart"))
	}
}

// TestTemporaryExpiryEvent: a temporary file past its lifetime is removed
// by the system, and its file.deleted event says so.
func TestTemporaryExpiryEvent(t *testing.T) {
	rc := &receiver{t: t, secret: "whsecret", ids: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := startServer(t, func(c *server.Config) { c.SweepEvery = time.Hour })
	if code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json", `{"target_url":"`+hook.URL+`","event":"file.deleted","signing_secret":"whsecret"}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	temp, kept := uploadN(t, s.URL, 1, "0")[0], uploadN(t, s.URL, 1, "1")[0]
	if err := s.App.ExpireFiles(context.Background(), time.Now().Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	e := rc.waitFor(1)[0]
	d := e["data"].(map[string]any)
	if d["uuid"] != temp || d["datetime_removed"] == nil {
		t.Fatalf("deleted event data: %v", d)
	}
	if in := e["initiator"].(map[string]any); in["type"] != "system" {
		t.Fatalf("initiator %v", in)
	}
	if code, _, _ := do(t, "GET", s.URL+"/"+kept+"/", nil, ""); code != 200 {
		t.Fatalf("stored file removed: %d", code)
	}
}
