// Package storetest is the conformance suite every satchel.Store passes.
// A driver's test calls Run with a function that opens an empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) satchel.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, satchel.Store)
	}{
		{"Projects", testProjects},
		{"Files", testFiles},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ListingAndCounters", testListing},
		{"PagingTies", testPagingTies},
		{"Search", testSearch},
		{"UploadSessions", testSessions},
		{"FetchTasks", testFetchTasks},
		{"Groups", testGroups},
		{"Settings", testSettings},
		{"Webhooks", testWebhooks},
		{"Resources", testResources},
		{"ExpiryAndProtection", testExpiry},
		{"EventsWithChanges", testEventsWithChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func newProject(t *testing.T, s satchel.Store) *satchel.Project {
	t.Helper()
	p := &satchel.Project{Name: "p", PublicKey: uuid.NewString()[:20], SecretKey: "s", Autostore: true, AllowedTypes: []string{"image/*"}}
	if err := s.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testProjects(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	if p.ID == 0 {
		t.Fatal("no id assigned")
	}
	got, err := s.ProjectByPublicKey(ctx, p.PublicKey)
	if err != nil || got.ID != p.ID || got.SecretKey != "s" || !got.Autostore || len(got.AllowedTypes) != 1 {
		t.Fatalf("by key: %+v %v", got, err)
	}
	dup := &satchel.Project{Name: "d", PublicKey: p.PublicKey, SecretKey: "x"}
	if err := s.CreateProject(ctx, dup); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("duplicate key: %v", err)
	}
	p.SignedUploads, p.MaxFileSize, p.PublicKey = true, 1234, "rotated-"+p.PublicKey[:8]
	if err := s.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err = s.ProjectByID(ctx, p.ID)
	if err != nil || !got.SignedUploads || got.MaxFileSize != 1234 || got.PublicKey != p.PublicKey {
		t.Fatalf("after update: %+v %v", got, err)
	}
	if _, err := s.ProjectByPublicKey(ctx, "missing"); !satchel.IsNotFound(err) {
		t.Fatalf("missing: %v", err)
	}
	newProject(t, s)
	all, err := s.Projects(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %d %v", len(all), err)
	}
}

func newFile(p *satchel.Project, uploaded time.Time, stored bool) *satchel.File {
	f := &satchel.File{
		UUID: uuid.NewString(), ProjectID: p.ID, Size: 10, MimeType: "image/png", OriginalFilename: "a b.png", Filename: "ab.png",
		Checksum: "sha256:00", IsImage: true, IsReady: true, Uploaded: uploaded.UTC().Truncate(time.Microsecond),
		Metadata: map[string]string{"k": "v"}, Tags: []string{"t"},
		ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/png", Type: "image", Subtype: "png"}, Image: &satchel.ImageInfo{Width: 3, Height: 4, Format: "PNG"}},
	}
	f.BlobKey = f.UUID
	if stored {
		st := f.Uploaded
		f.Stored = &st
	}
	return f
}

func testFiles(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	other := newProject(t, s)
	now := time.Now()
	a, b := newFile(p, now.Add(-48*time.Hour), false), newFile(p, now, true)
	a.SourceURL = "https://example.com/a.png"
	ev := &satchel.Event{ID: uuid.NewString(), ProjectID: p.ID, Type: satchel.EventFileUploaded, Payload: []byte(`{}`)}
	if err := s.CreateFiles(ctx, []*satchel.File{a, b}, []*satchel.Event{ev}); err != nil {
		t.Fatal(err)
	}
	got, err := s.File(ctx, p.ID, a.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 10 || !got.Uploaded.Equal(a.Uploaded) || got.Stored != nil || got.Metadata["k"] != "v" || got.Tags[0] != "t" ||
		got.ContentInfo == nil || got.ContentInfo.Image.Width != 3 || got.OriginalFilename != "a b.png" {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := s.File(ctx, other.ID, a.UUID); !satchel.IsNotFound(err) {
		t.Fatalf("file visible to another project: %v", err)
	}
	if f, err := s.File(ctx, 0, b.UUID); err != nil || f.Stored == nil {
		t.Fatalf("any-project lookup: %v", err)
	}
	// Atomicity: a batch with a duplicate inserts nothing.
	c := newFile(p, now, true)
	if err := s.CreateFiles(ctx, []*satchel.File{c, a}, nil); err == nil {
		t.Fatal("duplicate uuid accepted")
	}
	if _, err := s.File(ctx, 0, c.UUID); !satchel.IsNotFound(err) {
		t.Fatalf("partial batch visible: %v", err)
	}
	if f, err := s.FileBySourceURL(ctx, p.ID, a.SourceURL); err != nil || f.UUID != a.UUID {
		t.Fatalf("by source url: %v", err)
	}
	if ok, err := s.HasBlob(ctx, a.BlobKey); err != nil || !ok {
		t.Fatalf("has blob: %v %v", ok, err)
	}
	if ok, _ := s.HasBlob(ctx, "nope"); ok {
		t.Fatal("has unknown blob")
	}
	exp, err := s.ExpiredTemporaryFiles(ctx, now.Add(-24*time.Hour), 10)
	if err != nil || len(exp) != 1 || exp[0].UUID != a.UUID {
		t.Fatalf("expired: %v %v", exp, err)
	}
	if err := s.RemoveFile(ctx, a.UUID, now, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFile(ctx, a.UUID, now, nil); !satchel.IsNotFound(err) {
		t.Fatalf("second remove: %v", err)
	}
	if f, _ := s.File(ctx, p.ID, a.UUID); f.Removed == nil {
		t.Fatal("not marked removed")
	}
	if _, err := s.FileBySourceURL(ctx, p.ID, a.SourceURL); !satchel.IsNotFound(err) {
		t.Fatalf("removed file found by url: %v", err)
	}
	if exp, _ := s.ExpiredTemporaryFiles(ctx, now, 10); len(exp) != 0 {
		t.Fatalf("removed file still expiring: %d", len(exp))
	}
}

func testSessions(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	now := time.Now().UTC()
	ss := &satchel.UploadSession{UUID: uuid.NewString(), ProjectID: p.ID, Size: 12_000_000, PartSize: 5242880, ContentType: "x/y",
		OriginalFilename: "f", Store: "auto", Created: now, Expires: now.Add(time.Hour), Upload: "up-" + uuid.NewString()}
	if err := s.CreateUploadSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	got, err := s.UploadSession(ctx, ss.UUID)
	if err != nil || got.Size != ss.Size || got.Parts() != 3 || got.Upload != ss.Upload {
		t.Fatalf("session: %+v %v", got, err)
	}
	if g, err := s.UploadSessionByUpload(ctx, ss.Upload); err != nil || g.UUID != ss.UUID {
		t.Fatalf("by upload: %v", err)
	}
	for _, n := range []int{2, 1, 2} {
		if err := s.PutPart(ctx, ss.UUID, n, int64(n*10), fmt.Sprint("c", n)); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := s.Parts(ctx, ss.UUID)
	if err != nil || len(parts) != 2 || parts[2].Size != 20 {
		t.Fatalf("parts: %v %v", parts, err)
	}
	testPartTags(t, s, ss.UUID)
	if exp, _ := s.ExpiredUploadSessions(ctx, now, 10); len(exp) != 0 {
		t.Fatal("live session expired")
	}
	if exp, _ := s.ExpiredUploadSessions(ctx, now.Add(2*time.Hour), 10); len(exp) != 1 {
		t.Fatal("expired session not listed")
	}
	f := newFile(p, now, true)
	f.UUID = ss.UUID
	if err := s.CompleteUploadSession(ctx, ss.UUID, f, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadSession(ctx, ss.UUID); !satchel.IsNotFound(err) {
		t.Fatalf("session survives completion: %v", err)
	}
	if parts, _ := s.Parts(ctx, ss.UUID); len(parts) != 0 {
		t.Fatal("parts survive completion")
	}
	if err := s.CompleteUploadSession(ctx, ss.UUID, f, nil); !satchel.IsNotFound(err) {
		t.Fatalf("second completion: %v", err)
	}
}

// testPartTags checks that a part write's blob tag is recorded with the
// part, and that a write replacing the part forgets the old tag at once.
func testPartTags(t *testing.T, s satchel.Store, id string) {
	t.Helper()
	ctx := context.Background()
	tagOf := func(n int) (string, bool) {
		t.Helper()
		parts, err := s.Parts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := parts[n]
		return p.Tag, ok
	}
	if prev, claimed, err := s.ClaimPart(ctx, id, 3, "w1"); err != nil || !claimed || prev != "" {
		t.Fatalf("claim part 3: %q %v %v", prev, claimed, err)
	}
	if err := s.FinishPart(ctx, id, 3, "w1", 30, "c3", `"etag-1"`); err != nil {
		t.Fatal(err)
	}
	if tag, ok := tagOf(3); !ok || tag != `"etag-1"` {
		t.Fatalf("tag of part 3: %q %v", tag, ok)
	}
	if err := s.BeginPart(ctx, id, 3, "w2"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishPart(ctx, id, 3, "w2", 30, "c3", ""); err != nil {
		t.Fatal(err)
	}
	if tag, ok := tagOf(3); !ok || tag != "" {
		t.Fatalf("tag of part 3 after a write without one: %q %v", tag, ok)
	}
	if err := s.BeginPart(ctx, id, 3, "w3"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishPart(ctx, id, 3, "w3", 30, "c3", `"etag-3"`); err != nil {
		t.Fatal(err)
	}
	if tag, _ := tagOf(3); tag != `"etag-3"` {
		t.Fatalf("tag of part 3 rewritten: %q", tag)
	}
	if tag, ok := tagOf(2); !ok || tag != "" {
		t.Fatalf("tag of part 2 (PutPart): %q %v", tag, ok)
	}
	if err := s.DropPart(ctx, id, 3); err != nil {
		t.Fatal(err)
	}
}

func testFetchTasks(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	now := time.Now().UTC()
	task := &satchel.FetchTask{Token: uuid.NewString(), ProjectID: p.ID, SourceURL: "https://e/x", Status: satchel.FetchWaiting, Total: -1, Params: "{}", Created: now, Updated: now}
	if err := s.CreateFetchTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FetchTask(ctx, task.Token); err != nil || got.Status != satchel.FetchWaiting || got.Attempts != 0 {
		t.Fatalf("new task: %+v %v", got, err)
	}
	first, err := s.StartFetchTask(ctx, task.Token)
	if err != nil || first.Attempts != 1 || first.Token != task.Token || first.SourceURL != task.SourceURL {
		t.Fatalf("start: %+v %v", first, err)
	}
	if _, err := s.StartFetchTask(ctx, uuid.NewString()); !satchel.IsNotFound(err) {
		t.Fatalf("start of a missing task: %v", err)
	}
	// A later run (the first one's node presumed dead) takes over.
	second, err := s.StartFetchTask(ctx, task.Token)
	if err != nil || second.Attempts != 2 {
		t.Fatalf("takeover: %+v %v", second, err)
	}
	// The first run's updates are fenced off after the takeover.
	stale := *first
	stale.Done = 1
	if err := s.UpdateFetchTask(ctx, &stale); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	task.Attempts = second.Attempts
	task.Status, task.Done, task.Total, task.FileUUID = satchel.FetchSuccess, 5, 5, "f"
	if err := s.UpdateFetchTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	got, err := s.FetchTask(ctx, task.Token)
	if err != nil || got.Status != satchel.FetchSuccess || got.Done != 5 || got.FileUUID != "f" || got.Attempts != 2 {
		t.Fatalf("task: %+v %v", got, err)
	}
	if err := s.DeleteFetchTasksBefore(ctx, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FetchTask(ctx, task.Token); !satchel.IsNotFound(err) {
		t.Fatalf("old task kept: %v", err)
	}
}

func testGroups(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	g := &satchel.Group{ID: uuid.NewString() + "~2", ProjectID: p.ID, Created: time.Now().UTC(),
		Members: []satchel.GroupMember{{FileUUID: "a"}, {FileUUID: "b", DefaultEffects: "resize/x8/"}}}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	got, err := s.Group(ctx, p.ID, g.ID)
	if err != nil || len(got.Members) != 2 || got.Members[1].DefaultEffects != "resize/x8/" {
		t.Fatalf("group: %+v %v", got, err)
	}
	if _, err := s.Group(ctx, p.ID+1000, g.ID); !satchel.IsNotFound(err) {
		t.Fatalf("group of another project: %v", err)
	}
}

func testSettings(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	for _, k := range []string{"a", "b", "a"} {
		if err := s.RecordVariant(ctx, "f1", k); err != nil {
			t.Fatal(err)
		}
	}
	s.RecordVariant(ctx, "f2", "c")
	if keys, err := s.TakeVariants(ctx, "f1"); err != nil || len(keys) != 2 {
		t.Fatalf("variants: %v %v", keys, err)
	}
	if keys, _ := s.TakeVariants(ctx, "f1"); len(keys) != 0 {
		t.Fatalf("variants after take: %v", keys)
	}
	if _, err := s.Setting(ctx, "k"); !satchel.IsNotFound(err) {
		t.Fatalf("unset: %v", err)
	}
	v, err := s.SetSettingIfAbsent(ctx, "k", "first")
	if err != nil || v != "first" {
		t.Fatal(v, err)
	}
	if v, _ := s.SetSettingIfAbsent(ctx, "k", "second"); v != "first" {
		t.Fatalf("overwritten: %s", v)
	}
}

// testConcurrentCreates checks that concurrent inserts (which a driver may
// commit together) all land, and that one bad insert fails alone.
func testConcurrentCreates(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	dup := newFile(p, time.Now(), true)
	if err := s.CreateFiles(ctx, []*satchel.File{dup}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make(chan error, n)
	files := make([]*satchel.File, n)
	for i := range files {
		files[i] = newFile(p, time.Now(), true)
		if i == n/2 {
			files[i] = dup
		}
	}
	for _, f := range files {
		go func(f *satchel.File) { errs <- s.CreateFiles(ctx, []*satchel.File{f}, nil) }(f)
	}
	failed := 0
	for range files {
		if err := <-errs; err != nil {
			if !errors.Is(err, satchel.ErrConflict) {
				t.Errorf("unexpected error: %v", err)
			}
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d inserts failed, want exactly the duplicate", failed)
	}
	for _, f := range files {
		if _, err := s.File(ctx, p.ID, f.UUID); err != nil {
			t.Fatalf("file %s missing: %v", f.UUID, err)
		}
	}
}

func testListing(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	base := time.Now().Add(-time.Hour)
	var all []*satchel.File
	for i := 0; i < 7; i++ {
		f := newFile(p, base.Add(time.Duration(i)*time.Second), i%2 == 0)
		f.Size = int64(100 - i)
		all = append(all, f)
	}
	if err := s.CreateFiles(ctx, all, nil); err != nil {
		t.Fatal(err)
	}
	c, err := s.FileCounts(ctx, p.ID)
	if err != nil || c.Stored != 4 || c.Unstored != 3 || c.Removed != 0 {
		t.Fatalf("counts: %+v %v", c, err)
	}
	page, err := s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 3})
	if err != nil || len(page) != 3 || page[0].UUID != all[0].UUID || page[2].UUID != all[2].UUID {
		t.Fatalf("first page: %v", err)
	}
	from := page[2].Uploaded
	page, _ = s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 3, FromTime: &from})
	if len(page) != 3 || page[0].UUID != all[3].UUID {
		t.Fatal("cursor page wrong")
	}
	page, _ = s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 2, Desc: true})
	if len(page) != 2 || page[0].UUID != all[6].UUID {
		t.Fatal("descending page wrong")
	}
	// Pages by number: Offset skips that many files.
	if off, _ := s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 2, Desc: true, Offset: 1}); len(off) != 2 || off[0].UUID != page[1].UUID {
		t.Fatal("offset page wrong")
	}
	tr := true
	page, _ = s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 10, Stored: &tr})
	if len(page) != 4 {
		t.Fatalf("stored filter: %d", len(page))
	}
	page, _ = s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 10, BySize: true})
	if len(page) != 7 || page[0].UUID != all[6].UUID {
		t.Fatal("size order wrong")
	}
	// Batch update: store the unstored, one unknown uuid, one refused by mutate.
	refuse := errors.New("refused")
	ids := []string{all[1].UUID, "00000000-0000-4000-8000-000000000000", all[3].UUID, all[5].UUID}
	now := time.Now().UTC()
	files, errs, err := s.UpdateFiles(ctx, p.ID, ids, func(f *satchel.File) ([]*satchel.Event, error) {
		if f.UUID == all[5].UUID {
			return nil, refuse
		}
		f.Stored = &now
		return nil, nil
	})
	if err != nil || files[0] == nil || files[0].Stored == nil || !satchel.IsNotFound(errs[1]) || !errors.Is(errs[3], refuse) || files[2] == nil {
		t.Fatalf("batch: %v %v", errs, err)
	}
	c, _ = s.FileCounts(ctx, p.ID)
	if c.Stored != 6 || c.Unstored != 1 {
		t.Fatalf("counts after batch: %+v", c)
	}
	if err := s.RemoveFile(ctx, all[0].UUID, now, nil); err != nil {
		t.Fatal(err)
	}
	c, _ = s.FileCounts(ctx, p.ID)
	if c.Stored != 5 || c.Removed != 1 {
		t.Fatalf("counts after remove: %+v", c)
	}
	if z, err := s.FileSizes(ctx, p.ID); err != nil || z.StoredBytes != 98+99+97+96+94 || z.UnstoredBytes != 95 {
		t.Fatalf("sizes after remove: %+v %v", z, err)
	}
	page, _ = s.ListFiles(ctx, satchel.FileQuery{ProjectID: p.ID, Limit: 10, Removed: true})
	if len(page) != 1 || page[0].UUID != all[0].UUID {
		t.Fatal("removed listing wrong")
	}
	// Groups listing.
	for i := 0; i < 3; i++ {
		g := &satchel.Group{ID: uuid.NewString() + "~1", ProjectID: p.ID, Created: base.Add(time.Duration(i) * time.Second).UTC(), Members: []satchel.GroupMember{{FileUUID: all[i].UUID}}}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	gs, err := s.ListGroups(ctx, satchel.GroupQuery{ProjectID: p.ID, Limit: 2})
	if err != nil || len(gs) != 2 {
		t.Fatalf("groups: %v", err)
	}
	if n, _ := s.CountGroups(ctx, p.ID); n != 3 {
		t.Fatalf("group count %d", n)
	}
	if err := s.RemoveGroup(ctx, p.ID, gs[0].ID, now); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountGroups(ctx, p.ID); n != 2 {
		t.Fatalf("group count after remove %d", n)
	}
}
