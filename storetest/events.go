package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// testEventsWithChanges checks the outbox rule of satchel.Store: every
// method that changes a file's state (upload commit, store, metadata
// update, delete; single and batch) writes the events it is given in the
// transaction of the change, with their deliveries, and a change whose
// events cannot be written does not happen.
func testEventsWithChanges(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	hooks := map[string]*satchel.Webhook{}
	for _, typ := range satchel.WebhookEvents {
		hooks[typ] = newWebhook(t, s, p, typ, "https://e/"+typ, "0.7", true)
	}
	// written checks that e was written with its delivery.
	written := func(what string, e *satchel.Event) {
		t.Helper()
		got, err := s.Event(ctx, e.ID)
		if err != nil || got.Type != e.Type || string(got.Payload) != string(e.Payload) {
			t.Fatalf("%s: event %s not written: %+v %v", what, e.Type, got, err)
		}
		d, err := s.Delivery(ctx, did(e, hooks[e.Type]))
		if err != nil || d.Status != satchel.DeliveryPending || d.EventID != e.ID {
			t.Fatalf("%s: delivery of %s not queued: %+v %v", what, e.Type, d, err)
		}
	}
	// clash is an event that cannot be written: its ID is taken.
	clash := func(typ string, taken *satchel.Event) *satchel.Event {
		e := newEvent(p, typ)
		e.ID = taken.ID
		return e
	}
	now := time.Now().UTC()

	// Upload commit (multipart).
	newSession := func() *satchel.UploadSession {
		ss := &satchel.UploadSession{UUID: uuid.NewString(), ProjectID: p.ID, Size: 10, PartSize: 10, ContentType: "image/png",
			OriginalFilename: "f", Store: "1", Created: now, Expires: now.Add(time.Hour), Upload: "up-" + uuid.NewString()}
		if err := s.CreateUploadSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		return ss
	}
	ss := newSession()
	f := newFile(p, now, true)
	f.UUID = ss.UUID
	up, st := newEvent(p, satchel.EventFileUploaded), newEvent(p, satchel.EventFileStored)
	if err := s.CompleteUploadSession(ctx, ss.UUID, f, []*satchel.Event{up, st}); err != nil {
		t.Fatal(err)
	}
	written("CompleteUploadSession", up)
	written("CompleteUploadSession", st)
	ss2 := newSession()
	f2 := newFile(p, now, false)
	f2.UUID = ss2.UUID
	if err := s.CompleteUploadSession(ctx, ss2.UUID, f2, []*satchel.Event{clash(satchel.EventFileUploaded, up)}); err == nil {
		t.Fatal("CompleteUploadSession: committed without its event")
	}
	if _, err := s.File(ctx, 0, f2.UUID); !satchel.IsNotFound(err) {
		t.Fatalf("CompleteUploadSession: file created without its event: %v", err)
	}
	if _, err := s.UploadSession(ctx, ss2.UUID); err != nil {
		t.Fatalf("CompleteUploadSession: session gone without its event: %v", err)
	}

	// Direct upload.
	g := newFile(p, now, false)
	gup := newEvent(p, satchel.EventFileUploaded)
	if err := s.CreateFiles(ctx, []*satchel.File{g}, []*satchel.Event{gup}); err != nil {
		t.Fatal(err)
	}
	written("CreateFiles", gup)
	h := newFile(p, now, false)
	if err := s.CreateFiles(ctx, []*satchel.File{h}, []*satchel.Event{clash(satchel.EventFileUploaded, gup)}); err == nil {
		t.Fatal("CreateFiles: committed without its event")
	}
	if _, err := s.File(ctx, 0, h.UUID); !satchel.IsNotFound(err) {
		t.Fatalf("CreateFiles: file created without its event: %v", err)
	}

	// Store, metadata update (UpdateFile) and their failures.
	update := func(what, typ string, taken *satchel.Event, change func(*satchel.File)) *satchel.Event {
		t.Helper()
		if _, err := s.UpdateFile(ctx, p.ID, g.UUID, func(f *satchel.File) ([]*satchel.Event, error) {
			change(f)
			return []*satchel.Event{clash(typ, taken)}, nil
		}); err == nil {
			t.Fatalf("%s: committed without its event", what)
		}
		before, err := s.File(ctx, p.ID, g.UUID)
		if err != nil {
			t.Fatal(err)
		}
		probe := *before
		probe.Metadata = map[string]string{}
		for k, v := range before.Metadata {
			probe.Metadata[k] = v
		}
		change(&probe)
		if (probe.Stored == nil) == (before.Stored == nil) && probe.Metadata["m"] == before.Metadata["m"] {
			t.Fatalf("%s: change committed without its event", what)
		}
		e := newEvent(p, typ)
		if _, err := s.UpdateFile(ctx, p.ID, g.UUID, func(f *satchel.File) ([]*satchel.Event, error) {
			change(f)
			return []*satchel.Event{e}, nil
		}); err != nil {
			t.Fatal(err)
		}
		written(what, e)
		return e
	}
	stored := update("UpdateFile (store)", satchel.EventFileStored, st, func(f *satchel.File) {
		t := now
		f.Stored = &t
	})
	update("UpdateFile (metadata)", satchel.EventFileInfoUpdated, stored, func(f *satchel.File) { f.Metadata["m"] = "1" })
	if got, _ := s.File(ctx, p.ID, g.UUID); got.Stored == nil || got.Metadata["m"] != "1" {
		t.Fatalf("UpdateFile: changes lost: %+v", got)
	}

	// Batch store (UpdateFiles).
	a, b := newFile(p, now, false), newFile(p, now, false)
	if err := s.CreateFiles(ctx, []*satchel.File{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	storeBatch := func(events func(f *satchel.File) *satchel.Event) error {
		_, _, err := s.UpdateFiles(ctx, p.ID, []string{a.UUID, b.UUID}, func(f *satchel.File) ([]*satchel.Event, error) {
			t := now
			f.Stored = &t
			return []*satchel.Event{events(f)}, nil
		})
		return err
	}
	if err := storeBatch(func(f *satchel.File) *satchel.Event {
		if f.UUID == b.UUID {
			return clash(satchel.EventFileStored, stored)
		}
		return newEvent(p, satchel.EventFileStored)
	}); err == nil {
		t.Fatal("UpdateFiles: committed without its events")
	}
	for _, f := range []*satchel.File{a, b} {
		if got, _ := s.File(ctx, p.ID, f.UUID); got.Stored != nil {
			t.Fatal("UpdateFiles: file stored without its event")
		}
	}
	batch := map[string]*satchel.Event{a.UUID: newEvent(p, satchel.EventFileStored), b.UUID: newEvent(p, satchel.EventFileStored)}
	if err := storeBatch(func(f *satchel.File) *satchel.Event { return batch[f.UUID] }); err != nil {
		t.Fatal(err)
	}
	written("UpdateFiles", batch[a.UUID])
	written("UpdateFiles", batch[b.UUID])

	// Delete.
	if err := s.RemoveFile(ctx, g.UUID, now, []*satchel.Event{clash(satchel.EventFileDeleted, stored)}); err == nil {
		t.Fatal("RemoveFile: committed without its event")
	}
	if got, _ := s.File(ctx, p.ID, g.UUID); got.Removed != nil {
		t.Fatal("RemoveFile: removed without its event")
	}
	del := newEvent(p, satchel.EventFileDeleted)
	if err := s.RemoveFile(ctx, g.UUID, now, []*satchel.Event{del}); err != nil {
		t.Fatal(err)
	}
	written("RemoveFile", del)
}
