package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	t.Run("Record", func(t *testing.T) { testWebhookRecord(t, s) })
	t.Run("PruneHistory", func(t *testing.T) { testPruneHistory(t, s) })
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

// testWebhookRecord checks how attempts are recorded in a delivery's row
// (the log the REST views show): later attempts win, earlier ones are
// fenced off.
func testWebhookRecord(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	w1 := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/1", "0.7", true)
	w2 := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/2", "0.7", true)
	f := newFile(p, time.Now(), true)
	e := newEvent(p, satchel.EventFileUploaded)
	if err := s.CreateFiles(ctx, []*satchel.File{f}, []*satchel.Event{e}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	a, err := s.Delivery(ctx, did(e, w1))
	if err != nil || a.Attempts != 0 || a.Status != satchel.DeliveryPending || a.EventID != e.ID || a.ProjectID != p.ID || a.WebhookID != w1.ID {
		t.Fatalf("delivery: %+v %v", a, err)
	}
	if _, err := s.Delivery(ctx, "nope:1"); !satchel.IsNotFound(err) {
		t.Fatalf("missing delivery: %v", err)
	}

	// A failed attempt: retry later.
	d := *a
	d.Attempts, d.LastStatus, d.LastError, d.NextAttempt = 1, 503, "HTTP 503", now.Add(time.Hour)
	d.LastResponse = strings.Repeat("é", 600) + "\x00tail" // 1200+ bytes, a NUL
	if err := s.FinishDelivery(ctx, &d); err != nil {
		t.Fatal(err)
	}
	x, _ := s.Delivery(ctx, d.ID)
	if x.LastStatus != 503 || x.LastError != "HTTP 503" || len(x.LastResponse) > 1024 || len(x.LastResponse) < 1000 ||
		!strings.HasPrefix(x.LastResponse, "éé") || !x.NextAttempt.Equal(now.Add(time.Hour).Truncate(time.Microsecond)) ||
		x.Status != satchel.DeliveryPending || x.Attempts != 1 {
		t.Fatalf("after failed attempt: %+v (%d bytes)", x, len(x.LastResponse))
	}
	// Attempt 3 is recorded; attempt 2, finishing late, is fenced off.
	d3 := *x
	d3.Attempts, d3.Status, d3.LastStatus, d3.LastError, d3.LastResponse = 3, satchel.DeliveryDelivered, 200, "", "ok"
	if err := s.FinishDelivery(ctx, &d3); err != nil {
		t.Fatal(err)
	}
	late := *x
	late.Attempts, late.Status, late.LastError = 2, satchel.DeliveryFailed, "gave up"
	if err := s.FinishDelivery(ctx, &late); !satchel.IsNotFound(err) {
		t.Fatalf("stale finish: %v", err)
	}
	if x, _ := s.Delivery(ctx, d.ID); x.Status != satchel.DeliveryDelivered || x.Attempts != 3 || x.LastResponse != "ok" {
		t.Fatalf("delivered: %+v", x)
	}
	// The same attempt may record again (a retried store write).
	if err := s.FinishDelivery(ctx, &d3); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Delivery(ctx, did(e, w2))
	b.Attempts, b.Status, b.LastError = 1, satchel.DeliveryFailed, "gave up"
	if err := s.FinishDelivery(ctx, b); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Deliveries(ctx, p.ID, 10)
	if len(all) != 2 || all[0].ID != b.ID {
		t.Fatalf("deliveries not newest first: %v", deliveryIDs(all))
	}
	if err := s.FinishDelivery(ctx, &satchel.Delivery{ID: "nope:1", Attempts: 1, Status: satchel.DeliveryDelivered}); !satchel.IsNotFound(err) {
		t.Fatalf("finish missing: %v", err)
	}
}

// testPruneHistory checks that retention forgets old finished deliveries
// and the old events nothing refers to, and keeps the rest.
func testPruneHistory(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p := newProject(t, s)
	w := newWebhook(t, s, p, satchel.EventFileUploaded, "https://e/prune", "0.7", true)
	newWebhook(t, s, p, satchel.EventFileStored, "https://e/prune", "0.7", false) // inactive: events kept, no delivery
	old := time.Now().UTC().Add(-48 * time.Hour)
	var events []*satchel.Event
	for range 3 {
		e := newEvent(p, satchel.EventFileUploaded)
		e.Created = old
		events = append(events, e)
	}
	if err := s.CreateFiles(ctx, []*satchel.File{newFile(p, old, true)}, events); err != nil {
		t.Fatal(err)
	}
	// Event 0 was delivered long ago, event 1 failed recently, event 2 is pending.
	for i, st := range []string{satchel.DeliveryDelivered, satchel.DeliveryFailed} {
		d, err := s.Delivery(ctx, did(events[i], w))
		if err != nil {
			t.Fatal(err)
		}
		d.Attempts, d.Status, d.Updated = 1, st, old
		if i == 1 {
			d.Updated = time.Now().UTC()
		}
		if err := s.FinishDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneHistory(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("prune: %d rows, %v; want 2 (a delivery and its event)", n, err)
	}
	if _, err := s.Event(ctx, events[0].ID); !satchel.IsNotFound(err) {
		t.Fatalf("old delivered event kept: %v", err)
	}
	if _, err := s.Delivery(ctx, did(events[0], w)); !satchel.IsNotFound(err) {
		t.Fatalf("old delivery kept: %v", err)
	}
	for _, e := range events[1:] {
		if _, err := s.Event(ctx, e.ID); err != nil {
			t.Fatalf("event still referred to: %v", err)
		}
		if _, err := s.Delivery(ctx, did(e, w)); err != nil {
			t.Fatalf("recent or pending delivery: %v", err)
		}
	}
}
