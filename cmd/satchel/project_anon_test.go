package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/satchel-project/satchel/server"
)

// TestProjectAnonymousUploads: anonymous JSON:API uploads are off by
// default and switched by project update --anonymous-uploads.
func TestProjectAnonymousUploads(t *testing.T) {
	clearSatchelEnv(t)
	dir := t.TempDir()
	t.Setenv("SATCHEL_DATA_DIR", dir)
	ctx := context.Background()
	sh := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
	}
	anonymous := func() bool {
		t.Helper()
		db, err := server.OpenStore(ctx, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p, err := db.ProjectByPublicKey(ctx, "pubkey000000000anony")
		if err != nil {
			t.Fatal(err)
		}
		return p.AnonymousUploads
	}
	sh("project", "create", "--public-key", "pubkey000000000anony")
	if anonymous() {
		t.Fatal("anonymous uploads on by default")
	}
	sh("project", "update", "--public-key", "pubkey000000000anony", "--anonymous-uploads=true")
	if !anonymous() {
		t.Fatal("--anonymous-uploads=true did not take")
	}
	sh("project", "update", "--public-key", "pubkey000000000anony", "--name", "x")
	if !anonymous() {
		t.Fatal("an update without the flag changed it")
	}
	sh("project", "update", "--public-key", "pubkey000000000anony", "--anonymous-uploads=false")
	if anonymous() {
		t.Fatal("--anonymous-uploads=false did not take")
	}
}
