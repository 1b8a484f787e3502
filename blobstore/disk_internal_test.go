package blobstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// syncEvent is one directory fsync: the directory and the names in it then.
type syncEvent struct {
	dir   string
	names []string
}

// watchSyncs makes d record its directory fsyncs (still doing them).
func watchSyncs(t *testing.T, d *Disk) *[]syncEvent {
	t.Helper()
	var events []syncEvent
	d.syncDir = func(dir string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Errorf("read %s: %v", dir, err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		events = append(events, syncEvent{dir: dir, names: names})
		return syncDir(dir)
	}
	return &events
}

// A committed blob's entry, and the entry of a shard directory made for it,
// are fsynced into their directories before Commit returns, by unnamed
// files and by temporary files alike; a shard is made and synced once.
func TestDiskSyncsEntriesBeforeCommit(t *testing.T) {
	for _, unnamed := range []bool{true, false} {
		t.Run(map[bool]string{true: "unnamed", false: "temporary"}[unnamed], func(t *testing.T) {
			if unnamed && !unnamedSupported() {
				t.Skip("no unnamed files here")
			}
			root := t.TempDir()
			d, err := OpenDisk(root)
			if err != nil {
				t.Fatal(err)
			}
			d.unnamed.Store(unnamed)
			events := watchSyncs(t, d)
			blobs := filepath.Join(root, "blobs")
			shard := filepath.Join(blobs, "0f")
			commit := func(key string) {
				t.Helper()
				*events = nil
				w, err := d.NewWriter(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				w.Write([]byte("bytes of " + key))
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			synced := func(dir, name string) bool {
				return slices.ContainsFunc(*events, func(e syncEvent) bool {
					return e.dir == dir && slices.Contains(e.names, name)
				})
			}

			const first, second = "0f1e2d3c-aaaa-4bbb-8ccc-000000000001", "0fe2d3c4-aaaa-4bbb-8ccc-000000000002"
			commit(first)
			if !synced(blobs, "0f") {
				t.Errorf("the new shard's entry was not fsynced into blobs/: %v", *events)
			}
			if !synced(shard, first) {
				t.Errorf("the blob's entry was not fsynced into its shard: %v", *events)
			}
			commit(second)
			if synced(blobs, "0f") {
				t.Errorf("the known shard was synced again: %v", *events)
			}
			if !synced(shard, second) {
				t.Errorf("the second blob's entry was not fsynced into its shard: %v", *events)
			}
			if _, err := os.Stat(filepath.Join(shard, second)); err != nil {
				t.Errorf("the blob is not in its shard blobs/0f: %v", err)
			}
		})
	}
}
