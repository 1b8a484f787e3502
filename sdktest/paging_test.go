package sdktest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/ucare"
)

// TestListIteratorsSharedKeys uploads 200 files with UploadFiles (two direct
// requests of 100, so each hundred shares its upload time; sizes repeat)
// and groups sharing their creation time; the iterators, following the
// server's links page by page, list every one exactly once in every
// ordering and API version.
func TestListIteratorsSharedKeys(t *testing.T) {
	n := newNode(t, nil, nil)
	ctx := context.Background()
	var items []ucare.UploadItem
	for i := 0; i < 200; i++ {
		items = append(items, ucare.UploadItem{Reader: bytes.NewReader(bytes.Repeat([]byte("x"), 1+i%5)), Filename: fmt.Sprintf("f%d.txt", i)})
	}
	up, err := n.client(t, nil).UploadFiles(ctx, items, &ucare.UploadOptions{Store: ucare.StoreTrue})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range up {
		want[f.UUID] = true
	}
	if len(want) != 200 {
		t.Fatalf("%d files uploaded", len(want))
	}
	for _, v := range []string{"0.5", "0.6", "0.7"} {
		c := n.client(t, func(cfg *ucare.Config) { cfg.APIVersion = v })
		orderings := []string{"", "-datetime_uploaded"}
		if v != "0.7" {
			orderings = append(orderings, "size", "-size")
		}
		for _, o := range orderings {
			seen := map[string]int{}
			for f, err := range c.ListFiles(ctx, &ucare.ListFilesOptions{Limit: 30, Ordering: o}) {
				if err != nil {
					t.Fatal(err)
				}
				seen[f.UUID]++
			}
			if len(seen) != len(want) {
				t.Fatalf("v%s ordering %q: %d distinct files listed, want %d", v, o, len(seen), len(want))
			}
			for id, k := range seen {
				if k != 1 || !want[id] {
					t.Fatalf("v%s ordering %q: %s listed %d times", v, o, id, k)
				}
			}
		}
	}

	p, err := n.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().UTC().Truncate(time.Second)
	groups := map[string]bool{}
	for i := 0; i < 30; i++ {
		g := &satchel.Group{ID: uuid.NewString() + "~1", ProjectID: p.ID, Created: created.Add(time.Duration(i/12) * time.Second),
			Members: []satchel.GroupMember{{FileUUID: up[i].UUID}}}
		if err := n.Store.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		groups[g.ID] = true
	}
	for _, o := range []string{"", "-datetime_created"} {
		seen := map[string]int{}
		for g, err := range n.client(t, nil).ListGroups(ctx, &ucare.ListGroupsOptions{Limit: 5, Ordering: o}) {
			if err != nil {
				t.Fatal(err)
			}
			seen[g.ID]++
		}
		if len(seen) != len(groups) {
			t.Fatalf("groups ordering %q: %d distinct listed, want %d", o, len(seen), len(groups))
		}
		for id, k := range seen {
			if k != 1 || !groups[id] {
				t.Fatalf("groups ordering %q: %s listed %d times", o, id, k)
			}
		}
	}
}
