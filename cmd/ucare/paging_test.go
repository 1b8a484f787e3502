package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/satchel-project/satchel/ucare"
)

// TestSyncSharedUploadTimes: files uploaded in two direct requests of 100
// (each hundred shares its upload time) are all listed and all synced when
// the CLI pages through them in small requests.
func TestSyncSharedUploadTimes(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	c, err := ucare.NewClient(ucare.Config{PublicKey: testPub, SecretKey: testSecret, UploadBase: n.URL, APIBase: n.URL, CDNBase: n.URL})
	if err != nil {
		t.Fatal(err)
	}
	var items []ucare.UploadItem
	for i := 0; i < 200; i++ {
		items = append(items, ucare.UploadItem{Reader: bytes.NewReader([]byte(fmt.Sprintf("file %d", i))), Filename: fmt.Sprintf("f%d.txt", i)})
	}
	up, err := c.UploadFiles(context.Background(), items, &ucare.UploadOptions{Store: ucare.StoreTrue})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range up {
		want[f.UUID+".txt"] = true
	}
	r := newRunner(t, n)
	for _, ordering := range []string{"datetime_uploaded", "-datetime_uploaded", "size", "-size"} {
		var files []fileJSON
		r.okJSON(&files, "--api_version", "0.6", "list_files", "--limit", "None", "--request_limit", "30", "--ordering", ordering)
		seen := map[string]bool{}
		for _, f := range files {
			seen[f.UUID+".txt"] = true
		}
		if len(files) != 200 || len(seen) != 200 {
			t.Fatalf("list_files --ordering %s: %d files, %d distinct", ordering, len(files), len(seen))
		}
	}
	out := t.TempDir()
	r.ok("sync", "--limit", "None", "--request_limit", "30", out)
	got := tree(t, out)
	if len(got) != len(want) {
		t.Fatalf("sync wrote %d files, want %d", len(got), len(want))
	}
	for _, name := range got {
		if !want[name] {
			t.Fatalf("sync wrote %s", name)
		}
	}
}
