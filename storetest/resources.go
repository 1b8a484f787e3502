package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// testResources covers the dialect resources: creation, lookups by id,
// token hash and target, updates, removal and paging.
func testResources(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p, other := newProject(t, s), newProject(t, s)
	base := time.Now().UTC().Truncate(time.Microsecond)
	var made []*satchel.Resource
	for i := 0; i < 3; i++ {
		r := &satchel.Resource{ID: "f-" + uuid.NewString()[:22], ProjectID: p.ID, Kind: satchel.ResourceFile,
			TokenHash: uuid.NewString(), Target: uuid.NewString(), State: `{"n":1}`, Created: base.Add(time.Duration(i) * time.Second)}
		if err := s.CreateResource(ctx, r); err != nil {
			t.Fatal(err)
		}
		made = append(made, r)
	}
	if err := s.CreateResource(ctx, &satchel.Resource{ID: made[0].ID, ProjectID: p.ID, Kind: satchel.ResourceFile}); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := s.CreateResource(ctx, &satchel.Resource{ID: "w-1", ProjectID: p.ID, Kind: satchel.ResourceWebhook}); err != nil {
		t.Fatalf("a resource without token: %v", err)
	}
	if err := s.CreateResource(ctx, &satchel.Resource{ID: "w-2", ProjectID: p.ID, Kind: satchel.ResourceWebhook}); err != nil {
		t.Fatalf("a second resource without token: %v", err)
	}
	r0 := made[0]
	got, err := s.Resource(ctx, p.ID, r0.ID)
	if err != nil || got.TokenHash != r0.TokenHash || got.Target != r0.Target || got.State != r0.State || !got.Created.Equal(r0.Created) || got.Removed != nil {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := s.Resource(ctx, other.ID, r0.ID); !satchel.IsNotFound(err) {
		t.Fatalf("visible to another project: %v", err)
	}
	if got, err := s.ResourceByToken(ctx, r0.TokenHash); err != nil || got.ID != r0.ID {
		t.Fatalf("by token: %v", err)
	}
	if _, err := s.ResourceByToken(ctx, ""); !satchel.IsNotFound(err) {
		t.Fatalf("empty token: %v", err)
	}
	if got, err := s.ResourceByTarget(ctx, p.ID, satchel.ResourceFile, made[1].Target); err != nil || got.ID != made[1].ID {
		t.Fatalf("by target: %v", err)
	}
	list, n, err := s.ListResources(ctx, p.ID, satchel.ResourceFile, 1, 1)
	if err != nil || n != 3 || len(list) != 1 || list[0].ID != made[1].ID {
		t.Fatalf("page: %d %v %v", n, list, err)
	}
	gone := base.Add(time.Minute)
	r0.Target, r0.State, r0.Removed = "new", `{"n":2}`, &gone
	if err := s.UpdateResource(ctx, r0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Resource(ctx, p.ID, r0.ID); err != nil || got.Target != "new" || got.State != `{"n":2}` || got.Removed == nil || !got.Removed.Equal(gone) {
		t.Fatalf("after update: %+v %v", got, err)
	}
	if _, err := s.ResourceByToken(ctx, r0.TokenHash); !satchel.IsNotFound(err) {
		t.Fatalf("removed resource by token: %v", err)
	}
	if _, n, _ := s.ListResources(ctx, p.ID, satchel.ResourceFile, 0, 10); n != 2 {
		t.Fatalf("count after removal: %d", n)
	}
	if err := s.UpdateResource(ctx, &satchel.Resource{ID: "f-none"}); !satchel.IsNotFound(err) {
		t.Fatalf("update of a missing resource: %v", err)
	}

	// Pending files: live file resources whose target is no file of the
	// project (yet). made[1] and made[2] are; once made[2]'s file exists
	// (even removed), it is not.
	pending, n, err := s.ListPendingFiles(ctx, p.ID, 0, 10)
	if err != nil || n != 2 || len(pending) != 2 || pending[0].ID != made[2].ID || pending[1].ID != made[1].ID {
		t.Fatalf("pending: %d %v %v", n, pending, err)
	}
	f := newFile(p, base, true)
	f.UUID = made[2].Target
	if err := s.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFile(ctx, f.UUID, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	pending, n, err = s.ListPendingFiles(ctx, p.ID, 0, 10)
	if err != nil || n != 1 || len(pending) != 1 || pending[0].ID != made[1].ID {
		t.Fatalf("pending once a file exists: %d %v %v", n, pending, err)
	}
	if pending, n, _ := s.ListPendingFiles(ctx, p.ID, 1, 10); n != 1 || len(pending) != 0 {
		t.Fatalf("pending past the end: %d %v", n, pending)
	}
	if _, n, _ := s.ListPendingFiles(ctx, other.ID, 0, 10); n != 0 {
		t.Fatalf("another project's pending files: %d", n)
	}
	// The listing page: the pending files, then the live files, counted
	// together.
	live := newFile(p, base.Add(time.Minute), false)
	if err := s.CreateFiles(ctx, []*satchel.File{live}, nil); err != nil {
		t.Fatal(err)
	}
	l, err := s.FileListing(ctx, p.ID, 0, 10)
	if err != nil || len(l.Pending) != 1 || l.Pending[0].ID != made[1].ID || len(l.Files) != 1 || l.Files[0].UUID != live.UUID || l.Count() != 2 {
		t.Fatalf("listing: %+v %v", l, err)
	}
	if l, err := s.FileListing(ctx, p.ID, 1, 10); err != nil || len(l.Pending) != 0 || len(l.Files) != 1 || l.Count() != 2 {
		t.Fatalf("listing from 1: %+v %v", l, err)
	}
	if l, err := s.FileListing(ctx, p.ID, 0, 1); err != nil || len(l.Pending) != 1 || len(l.Files) != 0 {
		t.Fatalf("listing of 1: %+v %v", l, err)
	}

	// Untargeted resources of a kind, of every project, paged by id.
	var waiting []string
	for _, proj := range []*satchel.Project{p, other, p} {
		r := &satchel.Resource{ID: "f-" + uuid.NewString()[:22], ProjectID: proj.ID, Kind: satchel.ResourceFile, State: "{}"}
		if err := s.CreateResource(ctx, r); err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, r.ID)
	}
	var seen []string
	for after := ""; ; {
		page, err := s.ListUntargeted(ctx, satchel.ResourceFile, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Target != "" || r.Removed != nil || r.Kind != satchel.ResourceFile {
				t.Fatalf("untargeted: %+v", r)
			}
			seen = append(seen, r.ID)
			after = r.ID
		}
		if len(page) < 2 {
			break
		}
	}
	if len(seen) != len(waiting) {
		t.Fatalf("untargeted %v, want %v", seen, waiting)
	}
}

// testExpiry covers the file expiry and protection flags, the session
// fields that carry them and the anonymous uploads setting.
func testExpiry(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	if got, err := s.ProjectByID(ctx, p.ID); err != nil || got.AnonymousRateLimit != 0 || got.AnonymousMaxFileSize != 0 || len(got.AnonymousTypes) != 0 {
		t.Fatalf("anonymous limits of a new project: %+v %v", got, err)
	}
	p.AnonymousUploads = true
	p.AnonymousRateLimit, p.AnonymousMaxFileSize, p.AnonymousTypes = 7, 12345, []string{"image/*", "application/pdf"}
	if err := s.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.ProjectByID(ctx, p.ID)
	if err != nil || !got.AnonymousUploads || got.AnonymousRateLimit != 7 || got.AnonymousMaxFileSize != 12345 ||
		strings.Join(got.AnonymousTypes, ",") != "image/*,application/pdf" {
		t.Fatalf("anonymous uploads: %+v %v", got, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	a, b, c := newFile(p, now, true), newFile(p, now, true), newFile(p, now, true)
	a.Expires, a.OriginalProtected = &past, true
	b.Expires = &future
	if err := s.CreateFiles(ctx, []*satchel.File{a, b, c}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.File(ctx, p.ID, a.UUID); err != nil || got.Expires == nil || !got.Expires.Equal(past) || !got.OriginalProtected {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	due, err := s.ExpiredFiles(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].UUID != a.UUID {
		t.Fatalf("expired: %v %v", due, err)
	}
	// Updates carry both fields; removed files are no longer due.
	if _, err := s.UpdateFile(ctx, p.ID, b.UUID, func(f *satchel.File) ([]*satchel.Event, error) {
		f.Expires, f.OriginalProtected = &past, true
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFile(ctx, a.UUID, now, nil); err != nil {
		t.Fatal(err)
	}
	due, err = s.ExpiredFiles(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].UUID != b.UUID || !due[0].OriginalProtected {
		t.Fatalf("expired after update: %v %v", due, err)
	}
	sess := &satchel.UploadSession{UUID: uuid.NewString(), ProjectID: p.ID, Size: 10, PartSize: 5, FileExpires: &future, OriginalProtected: true,
		Created: now, Expires: now.Add(time.Hour), Upload: "u"}
	if err := s.CreateUploadSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UploadSession(ctx, sess.UUID); err != nil || got.FileExpires == nil || !got.FileExpires.Equal(future) || !got.OriginalProtected {
		t.Fatalf("session: %+v %v", got, err)
	}
}
