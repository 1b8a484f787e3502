package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// Fairness of claims across projects: a project with perProject claims
// running gets no more, and projects take turns, so one project's backlog
// cannot take every worker.

func newTask(t *testing.T, s satchel.Store, p *satchel.Project, created time.Time) *satchel.FetchTask {
	t.Helper()
	created = created.UTC().Truncate(time.Microsecond)
	task := &satchel.FetchTask{Token: uuid.NewString(), ProjectID: p.ID, SourceURL: "https://e/x", Status: satchel.FetchWaiting,
		Total: -1, Params: "{}", Created: created, Updated: created}
	if err := s.CreateFetchTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	return task
}

func taskTokens(ts []*satchel.FetchTask) string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.Token
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func expectTasks(t *testing.T, what string, got []*satchel.FetchTask, err error, want ...*satchel.FetchTask) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if g, w := taskTokens(got), taskTokens(want); g != w {
		t.Fatalf("%s: got [%s], want [%s]", what, g, w)
	}
}

func testFetchClaimCap(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	a, b := newProject(t, s), newProject(t, s)
	now := time.Now().UTC()
	var as []*satchel.FetchTask
	for i := range 5 {
		as = append(as, newTask(t, s, a, now.Add(-time.Minute+time.Duration(i)*time.Second)))
	}
	bt := newTask(t, s, b, now) // queued after all of a's

	c, err := s.ClaimFetchTasks(ctx, now, time.Minute, 2, 2)
	expectTasks(t, "first claim (projects take turns)", c, err, as[0], bt)
	c, err = s.ClaimFetchTasks(ctx, now, time.Minute, 10, 2)
	expectTasks(t, "second claim (a up to its cap)", c, err, as[1])
	c, err = s.ClaimFetchTasks(ctx, now.Add(time.Second), time.Minute, 10, 2)
	expectTasks(t, "claim with a at its cap", c, err)

	// A finished task frees its project's slot.
	done := *as[0]
	done.Attempts, done.Status, done.Updated = 1, satchel.FetchSuccess, now
	if err := s.UpdateFetchTask(ctx, &done); err != nil {
		t.Fatal(err)
	}
	c, err = s.ClaimFetchTasks(ctx, now.Add(time.Second), time.Minute, 10, 2)
	expectTasks(t, "claim after a finished task", c, err, as[2])

	// Without a cap the rest goes.
	c, err = s.ClaimFetchTasks(ctx, now.Add(time.Second), time.Minute, 10, 0)
	expectTasks(t, "uncapped claim", c, err, as[3], as[4])

	// Expired leases (their node died) do not count: a's two oldest
	// unfinished tasks and b's are taken over.
	c, err = s.ClaimFetchTasks(ctx, now.Add(2*time.Minute), time.Minute, 10, 2)
	expectTasks(t, "takeover after the leases ran out", c, err, as[1], as[2], bt)
}

// testFetchClaimCapConcurrent checks the cap holds with concurrent
// claimers (nodes): each project gets exactly perProject tasks in all.
func testFetchClaimCapConcurrent(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	a, b := newProject(t, s), newProject(t, s)
	now := time.Now().UTC()
	for i := range 10 {
		newTask(t, s, a, now.Add(-time.Minute+time.Duration(i)*time.Millisecond))
		newTask(t, s, b, now.Add(-time.Minute+time.Duration(i)*time.Millisecond))
	}
	perProject := map[int64]int{}
	var mu sync.Mutex
	claimConcurrently(t, func() (int, error) {
		ts, err := s.ClaimFetchTasks(ctx, now, time.Hour, 1, 2)
		mu.Lock()
		defer mu.Unlock()
		for _, x := range ts {
			perProject[x.ProjectID]++
		}
		return len(ts), err
	})
	if perProject[a.ID] != 2 || perProject[b.ID] != 2 || len(perProject) != 2 {
		t.Fatalf("claimed per project %v, want 2 each of %d and %d", perProject, a.ID, b.ID)
	}
}

// claimConcurrently runs claim from 8 goroutines until each gets nothing.
func claimConcurrently(t *testing.T, claim func() (int, error)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := claim()
				if err != nil {
					errs <- err
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// queueDeliveries writes n events of p, due one millisecond apart from
// created, each delivered to w.
func queueDeliveries(t *testing.T, s satchel.Store, p *satchel.Project, w *satchel.Webhook, created time.Time, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		e := newEvent(p, satchel.EventFileUploaded)
		e.Created = created.Add(time.Duration(i) * time.Millisecond).UTC().Truncate(time.Microsecond)
		if err := s.CreateFiles(context.Background(), []*satchel.File{newFile(p, e.Created, true)}, []*satchel.Event{e}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, did(e, w))
	}
	return ids
}

func testWebhookClaimCap(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	leaseAll(t, s)
	a, b := newProject(t, s), newProject(t, s)
	wa := newWebhook(t, s, a, satchel.EventFileUploaded, "https://e/a", "0.7", true)
	wb := newWebhook(t, s, b, satchel.EventFileUploaded, "https://e/b", "0.7", true)
	now := time.Now().UTC()
	as := queueDeliveries(t, s, a, wa, now.Add(-time.Minute), 5)
	bs := queueDeliveries(t, s, b, wb, now.Add(-time.Second), 1) // due after all of a's

	first, err := s.ClaimDeliveries(ctx, now, time.Minute, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "first claim (projects take turns)", first, as[0], bs[0])
	ds, err := s.ClaimDeliveries(ctx, now, time.Minute, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "second claim (a up to its cap)", ds, as[1])
	second := ds[0]
	ds, err = s.ClaimDeliveries(ctx, now.Add(time.Second), time.Minute, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "claim with a at its cap", ds)

	// A delivered attempt and a failed one (retried later) free their slots.
	for _, d := range first {
		if d.ProjectID == a.ID {
			d.Status, d.NextAttempt, d.LastStatus = satchel.DeliveryDelivered, now, 200
			if err := s.FinishDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	second.Status, second.NextAttempt, second.LastStatus = satchel.DeliveryPending, now.Add(time.Hour), 503
	if err := s.FinishDelivery(ctx, second); err != nil {
		t.Fatal(err)
	}
	ds, err = s.ClaimDeliveries(ctx, now.Add(time.Second), time.Minute, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "claim after finished attempts", ds, as[2], as[3])

	// Expired leases (their node died) do not count.
	ds, err = s.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "takeover after the leases ran out", ds, as[2], as[3], bs[0])
	ds, err = s.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	expectIDs(t, "uncapped claim", ds, as[4])
}

// testWebhookClaimCapConcurrent checks the cap holds with concurrent
// claimers (nodes): each project gets exactly perProject deliveries in all.
func testWebhookClaimCapConcurrent(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	leaseAll(t, s)
	a, b := newProject(t, s), newProject(t, s)
	now := time.Now().UTC()
	queueDeliveries(t, s, a, newWebhook(t, s, a, satchel.EventFileUploaded, "https://e/a", "0.7", true), now.Add(-time.Minute), 10)
	queueDeliveries(t, s, b, newWebhook(t, s, b, satchel.EventFileUploaded, "https://e/b", "0.7", true), now.Add(-time.Minute), 10)
	perProject := map[int64]int{}
	var mu sync.Mutex
	claimConcurrently(t, func() (int, error) {
		ds, err := s.ClaimDeliveries(ctx, now, time.Hour, 1, 2)
		mu.Lock()
		defer mu.Unlock()
		for _, d := range ds {
			perProject[d.ProjectID]++
		}
		return len(ds), err
	})
	if fmt.Sprint(perProject[a.ID], perProject[b.ID], len(perProject)) != "2 2 2" {
		t.Fatalf("claimed per project %v, want 2 each of %d and %d", perProject, a.ID, b.ID)
	}
}
