package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// Two file fields of one name in a /base/ request cannot both be answered
// (the answer is keyed by field name): the request is refused and nothing
// is stored.
func TestDirectUploadDuplicateFileField(t *testing.T) {
	var dataDir string
	s := startServer(t, func(c *server.Config) { dataDir = c.DataDir })
	fields := [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "1"}}
	files := []part{{"file", "a.txt", []byte("first file")}, {"other", "b.txt", []byte("other file")}, {"file", "c.txt", []byte("third file")}}
	const msg = `File field "file" is sent more than once: give each file a field name of its own.`

	code, _, body := postMultipart(t, s.URL+"/base/", fields, files)
	if code != 400 || body != msg {
		t.Fatalf("duplicate file field: %d %q, want 400 %q", code, body, msg)
	}
	code, _, body = postMultipart(t, s.URL+"/base/?jsonerrors=1", fields, files)
	var je struct {
		Error struct {
			Content    string `json:"content"`
			StatusCode int    `json:"status_code"`
			ErrorCode  string `json:"error_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &je); code != 200 || err != nil || je.Error.StatusCode != 400 || je.Error.Content != msg || je.Error.ErrorCode != "FileFieldDuplicatedError" {
		t.Fatalf("duplicate file field, jsonerrors=1: %d %q", code, body)
	}

	// Nothing was kept: no blob, no temporary, no file record.
	var blobs []string
	if err := s.App.Bucket.List(context.Background(), time.Time{}, func(key string) error {
		blobs = append(blobs, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 0 {
		t.Fatalf("blobs left behind: %v", blobs)
	}
	if left := tmpBlobs(t, dataDir); len(left) != 0 {
		t.Errorf("temporaries left behind: %v", left)
	}
	p, err := s.App.ProjectByKey(context.Background(), testPub, "pub_key")
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := s.App.Store.ListFiles(context.Background(), satchel.FileQuery{ProjectID: p.ID, Limit: 10}); err != nil || len(recs) != 0 {
		t.Fatalf("file records: %d %v", len(recs), err)
	}

	// Distinct field names are answered one by one.
	files[2].name = "third"
	code, _, body = postMultipart(t, s.URL+"/base/", fields, files)
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got) != 3 || got["file"] == "" || got["other"] == "" || got["third"] == "" {
		t.Fatalf("distinct fields: %d %q", code, body)
	}
}
