package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// testPagingTies pages through files and groups that share their sort keys
// (files committed in one request share their upload time; sizes repeat) in
// every order, both ways, with several page sizes: every row must come
// exactly once and in the order of a single full listing.
func testPagingTies(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	var files []*satchel.File
	for batch := 0; batch < 3; batch++ {
		var fs []*satchel.File
		for i := 0; i < 9; i++ {
			f := newFile(p, base.Add(time.Duration(batch)*time.Second), i%2 == 0)
			f.Size = int64(10 + i%3)
			fs = append(fs, f)
		}
		if err := s.CreateFiles(ctx, fs, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	for _, order := range []struct {
		name         string
		bySize, desc bool
	}{{"uploaded", false, false}, {"-uploaded", false, true}, {"size", true, false}, {"-size", true, true}} {
		q := satchel.FileQuery{ProjectID: p.ID, BySize: order.bySize, Desc: order.desc}
		all := listAllFiles(t, s, q)
		if len(all) != len(files) {
			t.Fatalf("%s: full listing has %d files, want %d", order.name, len(all), len(files))
		}
		for _, limit := range []int{1, 2, 4, 7} {
			name := fmt.Sprintf("%s limit %d", order.name, limit)
			// Forward from the start.
			var got []string
			var cur *satchel.File
			for n := 0; n <= len(all); n++ {
				pq := q
				pq.Limit = limit
				setFileCursor(&pq, cur)
				page, err := s.ListFiles(ctx, pq)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, f := range page {
					got = append(got, f.UUID)
				}
				if len(page) < limit {
					break
				}
				cur = page[len(page)-1]
			}
			if want := fileIDs(all); !slices.Equal(got, want) {
				t.Fatalf("%s forward: got %d files %v, want %d %v", name, len(got), got, len(want), want)
			}
			// Backward from the last file: the reverse order with the
			// cursor of each page's edge.
			got = nil
			cur = all[len(all)-1]
			for n := 0; n <= len(all); n++ {
				pq := q
				pq.Limit, pq.Desc = limit, !q.Desc
				setFileCursor(&pq, cur)
				page, err := s.ListFiles(ctx, pq)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, f := range page {
					got = append(got, f.UUID)
				}
				if len(page) < limit {
					break
				}
				cur = page[len(page)-1]
			}
			want := fileIDs(all[:len(all)-1])
			slices.Reverse(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s backward: got %d files %v, want %d %v", name, len(got), got, len(want), want)
			}
		}
		// A cursor without a tie-breaker is strictly beyond its key: it
		// skips the whole run of rows that share it.
		pq := q
		pq.Limit = 100
		mid := all[len(all)/2]
		setFileCursor(&pq, mid)
		pq.FromUUID = ""
		page, err := s.ListFiles(ctx, pq)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page {
			if fileKey(f, order.bySize) == fileKey(mid, order.bySize) {
				t.Fatalf("%s: key-only cursor returned a file with the cursor's key", order.name)
			}
		}
	}

	var groups []*satchel.Group
	for i := 0; i < 12; i++ {
		g := &satchel.Group{ID: fmt.Sprintf("%s~%d", uuid.NewString(), 1+i%3), ProjectID: p.ID,
			Created: base.Add(time.Duration(i/5) * time.Second), Members: []satchel.GroupMember{{FileUUID: files[i].UUID}}}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	for _, desc := range []bool{false, true} {
		all, err := s.ListGroups(ctx, satchel.GroupQuery{ProjectID: p.ID, Desc: desc, Limit: 1000})
		if err != nil || len(all) != len(groups) {
			t.Fatalf("groups: %d %v", len(all), err)
		}
		for _, limit := range []int{1, 2, 5} {
			for _, backward := range []bool{false, true} {
				var cur *satchel.Group
				want := groupIDs(all)
				if backward {
					cur = all[len(all)-1]
					want = want[:len(want)-1]
					slices.Reverse(want)
				}
				var got []string
				for n := 0; n <= len(all); n++ {
					q := satchel.GroupQuery{ProjectID: p.ID, Desc: desc != backward, Limit: limit}
					if cur != nil {
						created := cur.Created
						q.FromTime, q.FromID = &created, cur.ID
					}
					page, err := s.ListGroups(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, g := range page {
						got = append(got, g.ID)
					}
					if len(page) < limit {
						break
					}
					cur = page[len(page)-1]
				}
				if !slices.Equal(got, want) {
					t.Fatalf("groups desc=%v limit %d backward=%v: got %v, want %v", desc, limit, backward, got, want)
				}
			}
		}
	}
}

func listAllFiles(t *testing.T, s satchel.Store, q satchel.FileQuery) []*satchel.File {
	t.Helper()
	q.Limit = 1000
	all, err := s.ListFiles(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// setFileCursor makes q continue after f (from the start when f is nil).
func setFileCursor(q *satchel.FileQuery, f *satchel.File) {
	q.FromTime, q.FromSize, q.FromUUID = nil, nil, ""
	if f == nil {
		return
	}
	if q.BySize {
		size := f.Size
		q.FromSize = &size
	} else {
		up := f.Uploaded
		q.FromTime = &up
	}
	q.FromUUID = f.UUID
}

func fileKey(f *satchel.File, bySize bool) int64 {
	if bySize {
		return f.Size
	}
	return f.Uploaded.UnixMicro()
}

func fileIDs(fs []*satchel.File) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.UUID
	}
	return ids
}

func groupIDs(gs []*satchel.Group) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}
