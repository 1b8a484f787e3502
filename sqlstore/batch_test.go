package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// TestGroupCommit checks that uploads arriving while a commit is under way
// are committed together in the next transaction, and that none of them is
// acknowledged before its transaction has committed. The writer connection
// is held by the test to stand for a commit in progress.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db, p := openTestSQLite(t)
	held, err := db.wdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const uploads = 32
	done := make(chan error, uploads)
	files := make([]*satchel.File, uploads)
	for i := range files {
		files[i] = newTestFile(p.ID)
	}
	// The first upload: the batcher takes it and waits for the connection.
	waits := db.wdb.Stats().WaitCount
	go func() { done <- db.CreateFiles(ctx, files[:1], nil) }()
	for db.wdb.Stats().WaitCount == waits {
		time.Sleep(time.Millisecond)
	}
	// The others queue behind it.
	for i := 1; i < uploads; i++ {
		go func() { done <- db.CreateFiles(ctx, files[i:i+1], nil) }()
	}
	for len(db.batch) < uploads-1 {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("an upload was acknowledged before any commit: %v", err)
	default:
	}
	before := db.batchCommits.Load()
	held.Close()
	for range uploads {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := db.batchCommits.Load() - before; n != 2 {
		t.Fatalf("%d uploads in %d transactions, want 2 (the first alone, then the rest together)", uploads, n)
	}
	for _, f := range files {
		if _, err := db.File(ctx, p.ID, f.UUID); err != nil {
			t.Fatalf("file %s: %v", f.UUID, err)
		}
	}
	if c, err := db.FileCounts(ctx, p.ID); err != nil || c.Unstored != uploads {
		t.Fatalf("counts %+v, %v", c, err)
	}
}

// TestEventsKeptOnlyWhenSubscribed checks that an uploaded file's events
// are encoded and written only for the event types an active webhook of
// the project subscribes to, and that the batch counts every file.
func TestEventsKeptOnlyWhenSubscribed(t *testing.T) {
	ctx := context.Background()
	db, p := openTestSQLite(t)
	encoded := map[string]int{}
	upload := func(stored bool) (*satchel.File, []*satchel.Event) {
		f := newTestFile(p.ID)
		if stored {
			f.Stored = &f.Uploaded
		}
		var evs []*satchel.Event
		for _, typ := range []string{satchel.EventFileUploaded, satchel.EventFileStored} {
			evs = append(evs, &satchel.Event{ID: uuid.NewString(), ProjectID: p.ID, Type: typ, Encode: func() ([]byte, error) {
				encoded[typ]++
				return []byte(`{"v":1}`), nil
			}})
		}
		if err := db.CreateFiles(ctx, []*satchel.File{f}, evs); err != nil {
			t.Fatal(err)
		}
		return f, evs
	}
	_, evs := upload(false)
	for _, e := range evs {
		if _, err := db.Event(ctx, e.ID); !satchel.IsNotFound(err) {
			t.Fatalf("event %s written with no subscriber: %v", e.Type, err)
		}
	}
	if len(encoded) != 0 {
		t.Fatalf("events encoded with no subscriber: %v", encoded)
	}
	w := &satchel.Webhook{ProjectID: p.ID, Event: satchel.EventFileStored, TargetURL: "http://127.0.0.1:1/hook", IsActive: true, Version: "0.7"}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	_, evs = upload(true)
	if _, err := db.Event(ctx, evs[0].ID); !satchel.IsNotFound(err) {
		t.Fatalf("file.uploaded written with only file.stored subscribed: %v", err)
	}
	got, err := db.Event(ctx, evs[1].ID)
	if err != nil || string(got.Payload) != `{"v":1}` {
		t.Fatalf("file.stored event %+v, %v", got, err)
	}
	if encoded[satchel.EventFileUploaded] != 0 || encoded[satchel.EventFileStored] != 1 {
		t.Fatalf("encoded %v, want file.stored once", encoded)
	}
	if c, err := db.FileCounts(ctx, p.ID); err != nil || c.Unstored != 1 || c.Stored != 1 {
		t.Fatalf("counts %+v, %v", c, err)
	}
}

// TestRelaxedCommitsRestoreSync checks that the part claims and checks,
// committed without a WAL fsync of their own, leave the writer connection
// at synchronous=FULL afterwards, whether they succeed or fail: every
// other commit stays durable.
func TestRelaxedCommitsRestoreSync(t *testing.T) {
	ctx := context.Background()
	db, p := openTestSQLite(t)
	synchronous := func() int {
		t.Helper()
		var v int
		if err := db.wdb.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := synchronous(); v != 2 {
		t.Fatalf("synchronous=%d before, want 2 (FULL)", v)
	}
	now := time.Now().UTC()
	id := uuid.NewString()
	if err := db.CreateUploadSession(ctx, &satchel.UploadSession{UUID: id, ProjectID: p.ID, Size: 10, PartSize: 10, ContentType: "x/y",
		OriginalFilename: "f", Store: "auto", Created: now, Expires: now.Add(time.Hour), Upload: "up-" + id}); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := db.ClaimPart(ctx, id, 1, "w1"); err != nil || !claimed {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	if v := synchronous(); v != 2 {
		t.Fatalf("synchronous=%d after a claim, want 2 (FULL)", v)
	}
	if err := db.CheckPart(ctx, id, 1, "w2"); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("check by another writer: %v", err)
	}
	if _, _, err := db.ClaimPart(ctx, uuid.NewString(), 1, "w1"); !satchel.IsNotFound(err) {
		t.Fatalf("claim in no session: %v", err)
	}
	if v := synchronous(); v != 2 {
		t.Fatalf("synchronous=%d after failed claims, want 2 (FULL)", v)
	}
	if err := db.CheckPart(ctx, id, 1, "w1"); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishPart(ctx, id, 1, "w1", 10, "c", ""); err != nil {
		t.Fatal(err)
	}
	if parts, err := db.Parts(ctx, id); err != nil || parts[1].Size != 10 {
		t.Fatalf("parts %v, %v", parts, err)
	}
}
