package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/testenv"
)

func TestRESTRemoteCopy(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	storages := map[string]string{"disk": "file://" + dir}
	if testenv.HasS3() {
		storages["bucket"] = testenv.S3BucketURL(t)
	}
	ctx := context.Background()
	p, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	p.Storages = storages
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second) // project cache
	id := uploadN(t, s.URL, 1, "1")[0]
	original := download(t, s.URL, id)
	copyReq := func(body string) (int, string) {
		code, _, out := rawREST(t, "POST", s.URL+"/files/remote_copy/", v7, "application/json", body)
		return code, out
	}
	code, body := copyReq(`{"source":"` + id + `","target":"disk"}`)
	if code != 201 || !strings.Contains(body, `"type":"url"`) || !strings.Contains(body, id+"/f0.png") {
		t.Fatalf("remote copy: %d %s", code, body)
	}
	got, err := os.ReadFile(filepath.Join(dir, id, "f0.png"))
	if err != nil || !bytes.Equal(got, original) {
		t.Fatalf("copied bytes: %v", err)
	}
	// Same name again: 200, nothing rewritten.
	if code, _ := copyReq(`{"source":"` + id + `","target":"disk"}`); code != 200 {
		t.Fatalf("repeat copy: %d", code)
	}
	code, body = copyReq(`{"source":"https://cdn.example.com/` + id + `/","target":"disk","pattern":"archive/${filename}-${uuid}${ext}","make_public":"false"}`)
	var res struct{ Result string }
	json.Unmarshal([]byte(body), &res)
	if code != 201 || res.Result != "file://"+dir+"/archive/f0-"+id+".png" {
		t.Fatalf("pattern copy: %d %s", code, body)
	}
	for _, c := range []struct{ body, want string }{
		{`{"source":"` + id + `","target":"nowhere"}`, "Project has no storage with provided name."},
		{`{"source":"` + id + `","target":"disk","pattern":"${bogus}"}`, "Invalid pattern provided"},
		{`{"source":"` + id + `","target":"disk","pattern":"../../etc/${uuid}"}`, "Invalid pattern provided"},
		{`{"source":"junk","target":"disk"}`, "Bad `source` parameter. Use UUID or CDN URL."},
		{`{"target":"disk"}`, "`source` parameter is required."},
	} {
		if code, body := copyReq(c.body); code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %q", c.body, code, body, c.want)
		}
	}
	if storages["bucket"] != "" {
		code, body := copyReq(`{"source":"` + id + `","target":"bucket"}`)
		if code != 201 || !strings.Contains(body, "s3://") {
			t.Fatalf("S3 remote copy: %d %s", code, body)
		}
	}
}
