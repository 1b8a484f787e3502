package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/jobs"
)

// Store is what a Worker reads and writes: a delivery's log row, its event
// and subscription, and the subscription's project.
type Store interface {
	Delivery(ctx context.Context, id string) (*satchel.Delivery, error)
	FinishDelivery(ctx context.Context, d *satchel.Delivery) error
	Event(ctx context.Context, id string) (*satchel.Event, error)
	Webhook(ctx context.Context, projectID, id int64) (*satchel.Webhook, error)
	ProjectByID(ctx context.Context, id int64) (*satchel.Project, error)
}

// WorkerOptions tune a Worker; zero values take the defaults.
type WorkerOptions struct {
	// Concurrency bounds the deliveries in flight on a node (default 16):
	// the workers of the webhook queue.
	Concurrency int
	// PerProject bounds the deliveries of one project in flight, counted
	// across all nodes (default 2), so that a project with slow or dead
	// receivers leaves workers to the others.
	PerProject int
	// Timeout bounds one attempt, response included (default 10 s).
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is marked
	// failed (default 10, at most jobs.MaxDeliveryAttempts).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait before retry n: a random
	// duration in [0, min(MaxBackoff, BaseBackoff·2^(n-1))] (exponential
	// backoff, full jitter). Defaults 5 s and 1 h.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

// Defaults of WorkerOptions fields the operator may set.
const (
	DefaultPerProject = 2
	DefaultTimeout    = 10 * time.Second
)

func (o *WorkerOptions) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.PerProject <= 0 {
		o.PerProject = DefaultPerProject
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	o.MaxAttempts = min(o.MaxAttempts, jobs.MaxDeliveryAttempts)
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.MaxBackoff < o.BaseBackoff {
		o.MaxBackoff = o.BaseBackoff
	}
}

// Worker sends deliveries: it works the River jobs (jobs.DeliveryArgs)
// the store queues with every event, one attempt per run. The delivery row
// is the log of the attempts, which the REST views show; River schedules
// the retries at the time the row says.
type Worker struct {
	river.WorkerDefaults[jobs.DeliveryArgs]
	store  Store
	slots  jobs.DB
	client *http.Client
	bases  apiview.Bases
	log    *slog.Logger
	opts   WorkerOptions
	// next holds, by job ID, the next attempt time of a failed attempt
	// until River asks for it (NextRetry).
	next sync.Map
}

// NewWorker returns a Worker; slots is the job database that counts each
// project's deliveries in flight. client must refuse non-public addresses
// (fetch.Client.HTTPClient); nil means fetch.New with the worker's timeout.
// Redirects are never followed: a 3XX answer is a failed attempt. bases
// build the URLs in payloads. log may be nil.
func NewWorker(store Store, slots jobs.DB, client *http.Client, bases apiview.Bases, log *slog.Logger, opts WorkerOptions) *Worker {
	opts.defaults()
	if client == nil {
		client = fetch.New(fetch.Options{Timeout: opts.Timeout, UserAgent: UserAgent}).HTTPClient()
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, slots: slots, client: &c, bases: bases, log: log, opts: opts}
}

// Options returns the options in force.
func (wk *Worker) Options() WorkerOptions { return wk.opts }

// Timeout implements river.Worker: an attempt, and the store work around
// it. A node that dies mid-attempt has its delivery retried after that.
func (wk *Worker) Timeout(*river.Job[jobs.DeliveryArgs]) time.Duration {
	return wk.opts.Timeout + 10*time.Second
}

// NextRetry implements river.Worker: the next attempt is when the failed
// attempt recorded in the delivery's row (the backoff, or the receiver's
// Retry-After).
func (wk *Worker) NextRetry(job *river.Job[jobs.DeliveryArgs]) time.Time {
	next := time.Now().Add(backoff(job.Attempt, wk.opts.BaseBackoff, wk.opts.MaxBackoff))
	if v, ok := wk.next.LoadAndDelete(job.ID); ok {
		next = v.(time.Time)
	}
	// River refuses a time already past.
	if soon := time.Now().Add(time.Millisecond); next.Before(soon) {
		return soon
	}
	return next
}

// errRetry makes River retry a delivery whose attempt failed.
var errRetry = errors.New("webhook: attempt failed")

// Work implements river.Worker: one attempt at a delivery.
func (wk *Worker) Work(ctx context.Context, job *river.Job[jobs.DeliveryArgs]) error {
	ok, err := wk.slots.AcquireSlot(ctx, jobs.QueueWebhook, job.Args.ProjectID, job.ID, wk.opts.PerProject)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(slotWait(job.JobRow))
	}
	defer wk.slots.ReleaseSlot(context.WithoutCancel(ctx), job.ID)
	d, err := wk.store.Delivery(ctx, job.Args.DeliveryID)
	if satchel.IsNotFound(err) {
		return nil // deleted with its subscription
	}
	if err != nil {
		return err
	}
	if d.Status != satchel.DeliveryPending {
		return nil // recorded as done by an attempt cut short before River knew
	}
	d.Attempts = job.Args.Base + job.Attempt
	err = wk.process(ctx, d)
	if errors.Is(err, errRetry) {
		wk.next.Store(job.ID, d.NextAttempt)
	}
	return err
}

// slotWait is how long a delivery whose project is at its cap waits before
// it looks again: a quarter second, more after many waits (up to five
// seconds), so a long backlog of a busy project costs few wake-ups.
func slotWait(job *rivertype.JobRow) time.Duration {
	var md struct {
		Snoozes int `json:"snoozes"`
	}
	json.Unmarshal(job.Metadata, &md)
	d := 250*time.Millisecond + time.Duration(min(md.Snoozes, 20))*250*time.Millisecond
	return d + rand.N(d/2)
}

// outcome is the result of one attempt.
type outcome struct {
	status   int
	response string
	err      string
	// final ends the delivery whatever the attempt count: delivered, or a
	// failure that retrying cannot fix.
	final bool
	ok    bool
	// retryAfter is the receiver's Retry-After, if any.
	retryAfter time.Duration
}

// process makes one attempt at d and records it; an error makes River
// retry the job (at the time recorded in d, see NextRetry).
func (wk *Worker) process(ctx context.Context, d *satchel.Delivery) error {
	out, err := wk.attempt(ctx, d)
	if err != nil {
		// The store failed us: River retries.
		wk.log.ErrorContext(ctx, "webhook: prepare delivery", "delivery", d.ID, "err", err)
		return err
	}
	now := time.Now().UTC()
	d.LastStatus, d.LastResponse, d.LastError, d.Updated = out.status, out.response, out.err, now
	log := wk.log.With("delivery", d.ID, "attempt", d.Attempts, "status", out.status)
	var result error
	switch {
	case out.ok:
		d.Status, d.NextAttempt = satchel.DeliveryDelivered, now
		log.DebugContext(ctx, "webhook: delivered")
	case out.final || d.Attempts >= wk.opts.MaxAttempts:
		d.Status, d.NextAttempt = satchel.DeliveryFailed, now
		log.WarnContext(ctx, "webhook: delivery failed", "err", out.err)
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Cut short by a shutdown: River runs the job again.
		return ctx.Err()
	default:
		wait := max(backoff(d.Attempts, wk.opts.BaseBackoff, wk.opts.MaxBackoff), min(out.retryAfter, wk.opts.MaxBackoff))
		d.Status, d.NextAttempt = satchel.DeliveryPending, now.Add(wait)
		log.InfoContext(ctx, "webhook: attempt failed", "err", out.err, "retry_in", wait)
		result = fmt.Errorf("%w: %s", errRetry, out.err)
	}
	if err := wk.store.FinishDelivery(context.WithoutCancel(ctx), d); err != nil {
		if satchel.IsNotFound(err) {
			// Deleted with its subscription, or recorded by a later attempt.
			log.InfoContext(ctx, "webhook: delivery gone or taken over")
			return nil
		}
		log.ErrorContext(ctx, "webhook: record delivery", "err", err)
		return err
	}
	return result
}

// attempt loads what d needs and, unless that settles it, sends it. A non-nil
// error is a store failure.
func (wk *Worker) attempt(ctx context.Context, d *satchel.Delivery) (outcome, error) {
	give := func(reason string) (outcome, error) { return outcome{err: reason, final: true}, nil }
	e, err := wk.store.Event(ctx, d.EventID)
	if satchel.IsNotFound(err) {
		return give("event not found")
	} else if err != nil {
		return outcome{}, err
	}
	w, err := wk.store.Webhook(ctx, d.ProjectID, d.WebhookID)
	switch {
	case satchel.IsNotFound(err):
		return give("subscription deleted")
	case err != nil:
		return outcome{}, err
	case !w.IsActive:
		return give("subscription inactive")
	case w.Event != e.Type:
		return give("subscription changed to " + w.Event)
	case Legacy(w.Version) && e.Type != satchel.EventFileUploaded:
		return give("version " + w.Version + " subscriptions receive only " + satchel.EventFileUploaded)
	}
	p, err := wk.store.ProjectByID(ctx, d.ProjectID)
	if satchel.IsNotFound(err) {
		return give("project not found")
	} else if err != nil {
		return outcome{}, err
	}
	body, err := Payload(w, p, e, wk.bases)
	if err != nil {
		return give(err.Error())
	}
	return wk.send(ctx, w, d, e.Type, body), nil
}

// send POSTs body to the subscription's target.
func (wk *Worker) send(ctx context.Context, w *satchel.Webhook, d *satchel.Delivery, event string, body []byte) outcome {
	ctx, cancel := context.WithTimeout(ctx, wk.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.TargetURL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: "invalid target URL: " + err.Error(), final: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(DeliveryIDHeader, d.ID)
	req.Header.Set(EventHeader, event)
	if w.SigningSecret != "" {
		req.Header.Set(SignatureHeader, Sign(w.SigningSecret, body))
	}
	resp, err := wk.client.Do(req)
	if err != nil {
		return outcome{err: describe(ctx, err, wk.opts.Timeout)}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // lets the connection be reused
	out := outcome{status: resp.StatusCode, response: string(head)}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		out.ok, out.final = true, true
		return out
	}
	out.err = "HTTP " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		out.err += " (redirects are not followed)"
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		out.retryAfter = time.Duration(s) * time.Second
	}
	return out
}

// describe words a failed request for the delivery record.
func describe(ctx context.Context, err error, timeout time.Duration) string {
	var fe *fetch.Error
	switch {
	case errors.As(err, &fe):
		return fe.Code + ": " + fe.Message
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", timeout)
	}
	return err.Error()
}

// backoff is the wait before the retry that follows attempt n (1-based):
// uniform in [0, min(max, base·2^(n-1))].
func backoff(n int, base, max time.Duration) time.Duration {
	ceil := base
	for i := 1; i < n && ceil < max; i++ {
		ceil *= 2
	}
	if ceil > max {
		ceil = max
	}
	return rand.N(ceil + 1)
}
