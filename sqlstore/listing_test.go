package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/sqlstore"
)

// listingProject makes a project with pending file resources and live
// files: the pending resources' targets (no file yet) and the files' UUIDs.
func listingProject(t *testing.T, db *sqlstore.DB, pending, live int) (*satchel.Project, []string, []string) {
	t.Helper()
	ctx := context.Background()
	key := uuid.NewString()
	p := &satchel.Project{Name: "listing", PublicKey: key, SecretKey: key}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	base := time.Now().UTC().Truncate(time.Microsecond)
	var targets, files []string
	for i := range pending {
		r := &satchel.Resource{ID: "f-" + uuid.NewString()[:22], ProjectID: p.ID, Kind: satchel.ResourceFile,
			Target: uuid.NewString(), Created: base.Add(time.Duration(i) * time.Second)}
		if err := db.CreateResource(ctx, r); err != nil {
			t.Fatal(err)
		}
		targets = append(targets, r.Target)
	}
	for i := range live {
		f := listedFile(p.ID)
		f.Uploaded = base.Add(time.Duration(i) * time.Second)
		if err := db.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, f.UUID)
	}
	return p, targets, files
}

// A listing page is read in one snapshot: a pending upload that completes
// while the page is read stays pending on it, is not listed again among
// the live files, and the count is the count of that same moment.
func TestFileListingSnapshot(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p, targets, _ := listingProject(t, db, 2, 3)
		done := false
		sqlstore.SetSnapshotHook(db, func() {
			if done {
				return
			}
			done = true
			// The newest pending upload completes between the reads.
			f := listedFile(p.ID)
			f.UUID = targets[1]
			f.Uploaded = time.Now().UTC().Add(time.Hour)
			if err := db.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
				t.Error(err)
			}
		})
		l, err := db.FileListing(ctx, p.ID, 0, 10)
		sqlstore.SetSnapshotHook(db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !done {
			t.Fatal("the hook did not run")
		}
		if len(l.Pending) != 2 || l.PendingCount != 2 || l.Pending[0].Target != targets[1] {
			t.Fatalf("pending: %d of %d, %v", len(l.Pending), l.PendingCount, l.Pending)
		}
		for _, f := range l.Files {
			if f.UUID == targets[1] {
				t.Fatalf("the completed upload is listed pending and live")
			}
		}
		if len(l.Files) != 3 || l.Count() != 5 {
			t.Fatalf("%d files, count %d; want 3, 5", len(l.Files), l.Count())
		}
		// Read again, it is a live file, and pending no more.
		l, err = db.FileListing(ctx, p.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Pending) != 1 || len(l.Files) != 4 || l.Files[0].UUID != targets[1] || l.Count() != 5 {
			t.Fatalf("after: %d pending, %d files, count %d", len(l.Pending), len(l.Files), l.Count())
		}
	})
}

// Walking every page of a listing nobody writes to meets every pending
// resource and every file once, whatever the page size.
func TestFileListingPages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p, targets, files := listingProject(t, db, 3, 5)
		for _, items := range []int{1, 2, 3, 4, 8, 20} {
			seen := map[string]int{}
			for offset := 0; ; offset += items {
				l, err := db.FileListing(ctx, p.ID, offset, items)
				if err != nil {
					t.Fatal(err)
				}
				if l.Count() != 8 {
					t.Fatalf("items %d offset %d: count %d", items, offset, l.Count())
				}
				for _, r := range l.Pending {
					seen[r.Target]++
				}
				for _, f := range l.Files {
					seen[f.UUID]++
				}
				if n := len(l.Pending) + len(l.Files); n > items {
					t.Fatalf("items %d: a page of %d", items, n)
				} else if n < items {
					break
				}
			}
			for _, id := range append(targets, files...) {
				if seen[id] != 1 {
					t.Errorf("items %d: %s listed %d times", items, id, seen[id])
				}
			}
			if len(seen) != 8 {
				t.Errorf("items %d: %d listed", items, len(seen))
			}
		}
	})
}

func listedFile(projectID int64) *satchel.File {
	id := uuid.NewString()
	return &satchel.File{UUID: id, ProjectID: projectID, Size: 10, MimeType: "text/plain", OriginalFilename: "a.txt", Filename: "a.txt",
		BlobKey: id, Checksum: "c", IsReady: true, Uploaded: time.Now().UTC()}
}
