package blobstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/blobstore/blobtest"
)

func TestDiskConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobstore.Bucket {
		d, err := blobstore.OpenDisk(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestDiskCleansTemporaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := blobstore.OpenDisk(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "tmp", "leftover")
	os.WriteFile(stale, []byte("x"), 0o600)
	if _, err := blobstore.OpenDisk(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("temporary survived reopen: %v", err)
	}
}
