package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

func newWebhook(t *testing.T, s satchel.Store, p *satchel.Project, event, url, version string, active bool) *satchel.Webhook {
	t.Helper()
	w := &satchel.Webhook{ProjectID: p.ID, Event: event, TargetURL: url, IsActive: active, Version: version}
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatalf("create webhook %s %s: %v", event, url, err)
	}
	return w
}

func newEvent(p *satchel.Project, typ string) *satchel.Event {
	return &satchel.Event{ID: uuid.NewString(), ProjectID: p.ID, Type: typ, Payload: []byte(`{"file":null}`), Created: time.Now().UTC()}
}

func testWebhooks(t *testing.T, s satchel.Store) {
	t.Run("CRUD", func(t *testing.T) { testWebhookCRUD(t, s) })
	t.Run("Outbox", func(t *testing.T) { testWebhookOutbox(t, s) })
	t.Run("Claim", func(t *testing.T) { testWebhookClaim(t, s) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testWebhookConcurrentClaims(t, s) })
	t.Run("ClaimCap", func(t *testing.T) { testWebhookClaimCap(t, s) })
	t.Run("ClaimCapConcurrent", func(t *testing.T) { testWebhookClaimCapConcurrent(t, s) })
}

func testWebhookCRUD(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p, other := newProject(t, s), newProject(t, s)
	w := &satchel.Webhook{ProjectID: p.ID, Event: satchel.EventFileUploaded, TargetURL: "https://example.com/a", IsActive: true, SigningSecret: "sec", Version: "0.7"}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if w.ID == 0 || w.Created.IsZero() || !w.Updated.Equal(w.Created) {
		t.Fatalf("created: %+v", w)
	}
	got, err := s.Webhook(ctx, p.ID, w.ID)
	if err != nil || got.TargetURL != w.TargetURL || !got.IsActive || got.SigningSecret != "sec" || got.Version != "0.7" ||
		got.Event != satchel.EventFileUploaded || got.ProjectID != p.ID || !got.Created.Equal(w.Created) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if got, err := s.Webhook(ctx, 0, w.ID); err != nil || got.ID != w.ID {
		t.Fatalf("any-project lookup: %v", err)
	}
	if _, err := s.Webhook(ctx, other.ID, w.ID); !satchel.IsNotFound(err) {
		t.Fatalf("webhook visible to another project: %v", err)
	}
	if _, err := s.Webhook(ctx, p.ID, w.ID+1000); !satchel.IsNotFound(err) {
		t.Fatalf("missing webhook: %v", err)
	}

	// One target URL per (project, event).
	dup := &satchel.Webhook{ProjectID: p.ID, Event: satchel.EventFileUploaded, TargetURL: w.TargetURL, Version: "0.7"}
	if err := s.CreateWebhook(ctx, dup); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("duplicate subscription: %v", err)
	}
	stored := newWebhook(t, s, p, satchel.EventFileStored, w.TargetURL, "0.7", true)
	newWebhook(t, s, other, satchel.EventFileUploaded, w.TargetURL, "0.7", true)
	b := newWebhook(t, s, p, satchel.EventFileUploaded, "https://example.com/b", "0.6", false)
	if b.ID == w.ID || b.ID == stored.ID {
		t.Fatalf("ids not unique: %d %d %d", w.ID, stored.ID, b.ID)
	}

	// Update.
	b.TargetURL = w.TargetURL
	if err := s.UpdateWebhook(ctx, b); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("update into a duplicate: %v", err)
	}
	time.Sleep(2 * time.Millisecond)
	b.TargetURL, b.IsActive, b.SigningSecret, b.Version, b.Event = "https://example.com/c", true, "x", "0.7", satchel.EventFileDeleted
	if err := s.UpdateWebhook(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err = s.Webhook(ctx, p.ID, b.ID)
	if err != nil || got.TargetURL != "https://example.com/c" || !got.IsActive || got.SigningSecret != "x" || got.Version != "0.7" ||
		got.Event != satchel.EventFileDeleted || !got.Updated.After(got.Created) || !got.Updated.Equal(b.Updated) {
		t.Fatalf("after update: %+v %v", got, err)
	}
	ghost := *b
	ghost.ID += 1000
	if err := s.UpdateWebhook(ctx, &ghost); !satchel.IsNotFound(err) {
		t.Fatalf("update missing: %v", err)
	}
	ghost = *b
	ghost.ProjectID = other.ID
	if err := s.UpdateWebhook(ctx, &ghost); !satchel.IsNotFound(err) {
		t.Fatalf("update through another project: %v", err)
	}

	// List.
	list, err := s.Webhooks(ctx, p.ID)
	if err != nil || len(list) != 3 || list[0].ID != w.ID || list[1].ID != stored.ID || list[2].ID != b.ID {
		t.Fatalf("list: %v %v", list, err)
	}
	if list, err := s.Webhooks(ctx, p.ID+1000); err != nil || len(list) != 0 {
		t.Fatalf("list of unknown project: %v %v", list, err)
	}

	// Delete.
	if err := s.DeleteWebhook(ctx, other.ID, b.ID); !satchel.IsNotFound(err) {
		t.Fatalf("delete through another project: %v", err)
	}
	if err := s.DeleteWebhook(ctx, p.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, p.ID, b.ID); !satchel.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.Webhook(ctx, p.ID, b.ID); !satchel.IsNotFound(err) {
		t.Fatalf("deleted webhook found: %v", err)
	}
	n, err := s.DeleteWebhooksByTarget(ctx, p.ID, w.TargetURL)
	if err != nil || n != 2 {
		t.Fatalf("delete by target: %d %v", n, err)
	}
	if n, err := s.DeleteWebhooksByTarget(ctx, p.ID, w.TargetURL); err != nil || n != 0 {
		t.Fatalf("delete by target again: %d %v", n, err)
	}
	if list, _ := s.Webhooks(ctx, other.ID); len(list) != 1 {
		t.Fatalf("other project's webhook deleted: %d", len(list))
	}
	// The URL is free again.
	newWebhook(t, s, p, satchel.EventFileUploaded, w.TargetURL, "0.7", true)
}

func deliveryIDs(ds []*satchel.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	sort.Strings(out)
	return out
}

func expectIDs(t *testing.T, what string, got []*satchel.Delivery, want ...string) {
	t.Helper()
	sort.Strings(want)
	if g := deliveryIDs(got); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Fatalf("%s: got %v, want %v", what, g, want)
	}
}

func did(e *satchel.Event, w *satchel.Webhook) string { return fmt.Sprintf("%s:%d", e.ID, w.ID) }

func testWebhookOutbox(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p, other := newProject(t, s), newProject(t, s)
	up := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/up", "0.7", true)
	newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/inactive", "0.7", false)
	st := newWebhook(t, s, p, satchel.EventFileStored, "https://e/stored", "0.7", true)
	legacyUp := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/legacy", "0.6", true)
	newWebhook(t, s, p, satchel.EventFileStored, "https://e/legacy", "0.6", true) // 0.6 knows only file.uploaded
	newWebhook(t, s, p, satchel.EventFileInfoUpdated, "https://e/legacy5", "0.5", true)
	del := newWebhook(t, s, p, satchel.EventFileDeleted, "https://e/deleted", "", true) // unset version: current
	newWebhook(t, s, other, satchel.EventFileUploaded, "https://e/up", "0.7", true)

	f := newFile(p, time.Now(), true)
	e1, e2 := newEvent(p, satchel.EventFileUploaded), newEvent(p, satchel.EventFileStored)
	e1.Payload = []byte(`{"file":{"UUID":"` + f.UUID + `"},"initiator":{"type":"api"}}`)
	if err := s.CreateFiles(ctx, []*satchel.File{f}, []*satchel.Event{e1, e2}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Deliveries(ctx, p.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "deliveries after upload", ds, did(e1, up), did(e1, legacyUp), did(e2, st))
	for _, d := range ds {
		if d.Status != satchel.DeliveryPending || d.Attempts != 0 || d.ProjectID != p.ID || d.LastStatus != 0 ||
			!strings.HasPrefix(d.ID, d.EventID+":") || d.ID != fmt.Sprintf("%s:%d", d.EventID, d.WebhookID) || d.NextAttempt.IsZero() {
			t.Fatalf("new delivery: %+v", d)
		}
	}
	if ds, err := s.Deliveries(ctx, other.ID, 100); err != nil || len(ds) != 0 {
		t.Fatalf("other project's deliveries: %v %v", ds, err)
	}
	if ds, _ := s.Deliveries(ctx, p.ID, 2); len(ds) != 2 {
		t.Fatalf("limit: %d", len(ds))
	}

	// Event lookup.
	ev, err := s.Event(ctx, e1.ID)
	if err != nil || ev.Type != satchel.EventFileUploaded || ev.ProjectID != p.ID || string(ev.Payload) != string(e1.Payload) ||
		!ev.Created.Equal(e1.Created.Truncate(time.Microsecond)) {
		t.Fatalf("event: %+v %v", ev, err)
	}
	if _, err := s.Event(ctx, uuid.NewString()); !satchel.IsNotFound(err) {
		t.Fatalf("missing event: %v", err)
	}

	// A failed write queues nothing.
	g := newFile(p, time.Now(), true)
	e3 := newEvent(p, satchel.EventFileUploaded)
	if err := s.CreateFiles(ctx, []*satchel.File{g, f}, []*satchel.Event{e3}); err == nil {
		t.Fatal("duplicate file accepted")
	}
	if _, err := s.Event(ctx, e3.ID); !satchel.IsNotFound(err) {
		t.Fatalf("event of a failed write: %v", err)
	}
	if ds, _ := s.Deliveries(ctx, p.ID, 100); len(ds) != 3 {
		t.Fatalf("deliveries of a failed write: %d", len(ds))
	}

	// UpdateFile and RemoveFile queue with their events too.
	e4 := newEvent(p, satchel.EventFileInfoUpdated)
	if _, err := s.UpdateFile(ctx, p.ID, f.UUID, func(f *satchel.File) ([]*satchel.Event, error) {
		f.Metadata["x"] = "y"
		return []*satchel.Event{e4}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e5 := newEvent(p, satchel.EventFileDeleted)
	if err := s.RemoveFile(ctx, f.UUID, time.Now(), []*satchel.Event{e5}); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Deliveries(ctx, p.ID, 100)
	expectIDs(t, "deliveries after update and remove", ds, did(e1, up), did(e1, legacyUp), did(e2, st), did(e5, del))
	// A mutate error writes nothing.
	e6 := newEvent(p, satchel.EventFileDeleted)
	if _, err := s.UpdateFile(ctx, p.ID, f.UUID, func(*satchel.File) ([]*satchel.Event, error) {
		return []*satchel.Event{e6}, errors.New("no")
	}); err == nil {
		t.Fatal("mutate error ignored")
	}
	if ds, _ := s.Deliveries(ctx, p.ID, 100); len(ds) != 4 {
		t.Fatalf("deliveries of an aborted update: %d", len(ds))
	}

	// Deleting a subscription drops its pending deliveries.
	if err := s.DeleteWebhook(ctx, p.ID, legacyUp.ID); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Deliveries(ctx, p.ID, 100)
	expectIDs(t, "deliveries after delete", ds, did(e1, up), did(e2, st), did(e5, del))
	if _, err := s.DeleteWebhooksByTarget(ctx, p.ID, "https://e/stored"); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Deliveries(ctx, p.ID, 100)
	expectIDs(t, "deliveries after delete by target", ds, did(e1, up), did(e5, del))
}

// leaseAll leases every pending delivery for good, so that a test sees only
// the deliveries it queues itself (claims are not per project).
func leaseAll(t *testing.T, s satchel.Store) {
	t.Helper()
	if _, err := s.ClaimDeliveries(context.Background(), time.Now().Add(10000*time.Hour), 10000*time.Hour, 100000, 0); err != nil {
		t.Fatal(err)
	}
}

func testWebhookClaim(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	leaseAll(t, s)
	p := newProject(t, s)
	w1 := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/1", "0.7", true)
	w2 := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/2", "0.7", true)
	f := newFile(p, time.Now(), true)
	e := newEvent(p, satchel.EventFileUploaded)
	e.Created = time.Now().UTC().Add(-time.Second)
	if err := s.CreateFiles(ctx, []*satchel.File{f}, []*satchel.Event{e}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if ds, err := s.ClaimDeliveries(ctx, e.Created.Add(-time.Minute), time.Minute, 10, 0); err != nil || len(ds) != 0 {
		t.Fatalf("claimed before due: %v %v", ds, err)
	}
	a, err := s.ClaimDeliveries(ctx, now, time.Minute, 1, 0)
	if err != nil || len(a) != 1 {
		t.Fatalf("first claim: %v %v", a, err)
	}
	b, err := s.ClaimDeliveries(ctx, now, time.Minute, 10, 0)
	if err != nil || len(b) != 1 || b[0].ID == a[0].ID {
		t.Fatalf("second claim: %v %v", b, err)
	}
	expectIDs(t, "claimed", append(a, b...), did(e, w1), did(e, w2))
	for _, d := range append(a, b...) {
		if d.Attempts != 1 || d.Status != satchel.DeliveryPending || d.EventID != e.ID || d.ProjectID != p.ID {
			t.Fatalf("claimed delivery: %+v", d)
		}
	}
	if ds, err := s.ClaimDeliveries(ctx, now.Add(30*time.Second), time.Minute, 10, 0); err != nil || len(ds) != 0 {
		t.Fatalf("leased deliveries claimed again: %v %v", ds, err)
	}

	// A failed attempt: retry later.
	d := a[0]
	d.LastStatus, d.LastError, d.NextAttempt = 503, "HTTP 503", now.Add(time.Hour)
	d.LastResponse = strings.Repeat("é", 600) + "\x00tail" // 1200+ bytes, a NUL
	if err := s.FinishDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.ClaimDeliveries(ctx, now.Add(2*time.Minute), 24*time.Hour, 10, 0); len(ds) != 1 || ds[0].ID != b[0].ID || ds[0].Attempts != 2 {
		// b's lease ran out: it is claimed again, a waits for its next attempt.
		t.Fatalf("after lease expiry: %v", ds)
	}
	// b's first holder finishing late is fenced off.
	late := *b[0]
	late.Status = satchel.DeliveryDelivered
	if err := s.FinishDelivery(ctx, &late); !satchel.IsNotFound(err) {
		t.Fatalf("stale finish: %v", err)
	}
	all, _ := s.Deliveries(ctx, p.ID, 10)
	for _, x := range all {
		if x.ID == d.ID {
			if x.LastStatus != 503 || x.LastError != "HTTP 503" || len(x.LastResponse) > 1024 || len(x.LastResponse) < 1000 ||
				!strings.HasPrefix(x.LastResponse, "éé") || !x.NextAttempt.Equal(now.Add(time.Hour).Truncate(time.Microsecond)) ||
				x.Status != satchel.DeliveryPending || x.Attempts != 1 {
				t.Fatalf("after failed attempt: %+v (%d bytes)", x, len(x.LastResponse))
			}
		}
		if x.ID == b[0].ID && x.Status != satchel.DeliveryPending {
			t.Fatalf("stale finish applied: %+v", x)
		}
	}
	ds, err := s.ClaimDeliveries(ctx, now.Add(61*time.Minute), time.Minute, 10, 0)
	if err != nil || len(ds) != 1 || ds[0].ID != d.ID || ds[0].Attempts != 2 {
		t.Fatalf("retry claim: %v %v", ds, err)
	}
	// Delivered: never claimed again.
	d = ds[0]
	d.Status, d.LastStatus, d.LastError, d.LastResponse = satchel.DeliveryDelivered, 200, "", "ok"
	if err := s.FinishDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.ClaimDeliveries(ctx, now.Add(48*time.Hour), time.Minute, 10, 0); len(ds) != 1 || ds[0].ID != b[0].ID || ds[0].Attempts != 3 {
		t.Fatalf("claim after delivered: %v", ds)
	}
	all, _ = s.Deliveries(ctx, p.ID, 10)
	for _, x := range all {
		if x.ID == d.ID && (x.Status != satchel.DeliveryDelivered || x.LastStatus != 200 || x.LastResponse != "ok" || x.Attempts != 2) {
			t.Fatalf("delivered: %+v", x)
		}
	}
	if all[0].ID != b[0].ID {
		t.Fatalf("deliveries not newest first: %v", deliveryIDs(all))
	}
	// Failed: never claimed again either.
	f2 := *b[0]
	f2.Attempts, f2.Status, f2.LastError = 3, satchel.DeliveryFailed, "gave up"
	if err := s.FinishDelivery(ctx, &f2); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.ClaimDeliveries(ctx, now.Add(96*time.Hour), time.Minute, 10, 0); len(ds) != 0 {
		t.Fatalf("claim after failed: %v", ds)
	}
	if err := s.FinishDelivery(ctx, &satchel.Delivery{ID: "nope:1", Status: satchel.DeliveryDelivered}); !satchel.IsNotFound(err) {
		t.Fatalf("finish missing: %v", err)
	}
}

// testWebhookConcurrentClaims checks that concurrent claimers (nodes) never
// get the same delivery.
func testWebhookConcurrentClaims(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	leaseAll(t, s)
	p := newProject(t, s)
	for i := range 3 {
		newWebhook(t, s, p, satchel.EventFileUploaded, fmt.Sprintf("https://e/%d", i), "0.7", true)
	}
	const files = 20
	for range files {
		f := newFile(p, time.Now(), true)
		if err := s.CreateFiles(ctx, []*satchel.File{f}, []*satchel.Event{newEvent(p, satchel.EventFileUploaded)}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(ctx, now, time.Hour, 3, 0)
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != files*3 {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), files*3)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("delivery %s claimed %d times", id, n)
		}
	}
}
