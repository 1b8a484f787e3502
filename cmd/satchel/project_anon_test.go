package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/satchel-project/satchel"
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
	project := func() *satchel.Project {
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
		return p
	}
	anonymous := func() bool { t.Helper(); return project().AnonymousUploads }
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

	// The anonymous limits: defaults, set, kept by other updates, reset.
	if p := project(); p.AnonymousRate() != satchel.DefaultAnonymousRateLimit || p.AnonymousMaxSize() != satchel.DefaultAnonymousMaxFileSize || len(p.AnonymousTypes) != 0 {
		t.Fatalf("default anonymous limits: %+v", p)
	}
	sh("project", "update", "--public-key", "pubkey000000000anony", "--anonymous-rate-limit", "5", "--anonymous-max-size", "2MB", "--anonymous-types", "image/*, application/pdf")
	sh("project", "update", "--public-key", "pubkey000000000anony", "--name", "y")
	if p := project(); p.AnonymousRate() != 5 || p.AnonymousMaxSize() != 2_000_000 || strings.Join(p.AnonymousTypes, ",") != "image/*,application/pdf" {
		t.Fatalf("anonymous limits after update: %d %d %q", p.AnonymousRate(), p.AnonymousMaxSize(), p.AnonymousTypes)
	}
	sh("project", "update", "--public-key", "pubkey000000000anony", "--anonymous-rate-limit=-1", "--anonymous-max-size", "0", "--anonymous-types", "")
	if p := project(); p.AnonymousRate() != 0 || p.AnonymousMaxSize() != satchel.DefaultAnonymousMaxFileSize || len(p.AnonymousTypes) != 0 {
		t.Fatalf("anonymous limits after reset: %d %d %q", p.AnonymousRate(), p.AnonymousMaxSize(), p.AnonymousTypes)
	}
}
