package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/fetch"
)

// WorkerOptions tune a Worker; zero values take the defaults.
type WorkerOptions struct {
	// Concurrency bounds the deliveries in flight (default 16).
	Concurrency int
	// PerProject bounds the deliveries of one project in flight, counted
	// across all nodes (default 2), so that a project with slow or dead
	// receivers leaves workers to the others.
	PerProject int
	// Timeout bounds one attempt, response included (default 10 s).
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is marked
	// failed (default 10).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait before retry n: a random
	// duration in [0, min(MaxBackoff, BaseBackoff·2^(n-1))] (exponential
	// backoff, full jitter). Defaults 5 s and 1 h.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// PollInterval is how often the store is checked for due deliveries
	// when nothing pokes the worker (default 1 s).
	PollInterval time.Duration
	// Lease is how long a claimed delivery is reserved for this worker
	// before another node may take it over (default 2·Timeout + 30 s).
	Lease time.Duration
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
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.MaxBackoff < o.BaseBackoff {
		o.MaxBackoff = o.BaseBackoff
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2*o.Timeout + 30*time.Second
	}
}

// Worker sends the deliveries queued in the store. Several workers (one per
// node) may share a store: each claims deliveries under a lease.
type Worker struct {
	store  satchel.Store
	client *http.Client
	bases  apiview.Bases
	log    *slog.Logger
	opts   WorkerOptions
	poke   chan struct{}
}

// NewWorker returns a Worker. client must refuse non-public addresses
// (fetch.Client.HTTPClient); nil means fetch.New with the worker's timeout.
// Redirects are never followed: a 3XX answer is a failed attempt. bases
// build the URLs in payloads. log may be nil.
func NewWorker(store satchel.Store, client *http.Client, bases apiview.Bases, log *slog.Logger, opts WorkerOptions) *Worker {
	opts.defaults()
	if client == nil {
		client = fetch.New(fetch.Options{Timeout: opts.Timeout, UserAgent: UserAgent}).HTTPClient()
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, client: &c, bases: bases, log: log, opts: opts, poke: make(chan struct{}, 1)}
}

// Poke wakes the worker to look for due deliveries now, rather than at the
// next poll. It never blocks; call it after writing events.
func (wk *Worker) Poke() {
	select {
	case wk.poke <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx is done, then waits for the attempts
// in flight (each bounded by Timeout) to be recorded and returns.
func (wk *Worker) Run(ctx context.Context) {
	done := make(chan struct{}, wk.opts.Concurrency)
	active := 0
	defer func() {
		for ; active > 0; active-- {
			<-done
		}
	}()
	timer := time.NewTimer(wk.opts.PollInterval)
	defer timer.Stop()
	for {
		more := false
		if free := wk.opts.Concurrency - active; free > 0 && ctx.Err() == nil {
			ds, err := wk.store.ClaimDeliveries(ctx, time.Now(), wk.opts.Lease, free, wk.opts.PerProject)
			if err != nil && ctx.Err() == nil {
				wk.log.Error("webhook: claim deliveries", "err", err)
			}
			for _, d := range ds {
				active++
				go func() {
					defer func() { done <- struct{}{} }()
					wk.process(d)
				}()
			}
			more = err == nil && len(ds) == free
		}
		// After a full claim (every slot taken, maybe more due) the next
		// look is when a slot frees; otherwise at the next poll or poke.
		if more {
			timer.Stop()
		} else {
			timer.Reset(wk.opts.PollInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-done:
			active--
		case <-wk.poke:
		case <-timer.C:
		}
	}
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

// process makes one attempt at d and records it.
func (wk *Worker) process(d *satchel.Delivery) {
	// Attempts are not cut short by shutdown: they are bounded by Timeout.
	ctx, cancel := context.WithTimeout(context.Background(), wk.opts.Timeout+30*time.Second)
	defer cancel()
	out, err := wk.attempt(ctx, d)
	if err != nil {
		// The store failed us; the lease runs out and the delivery is retried.
		wk.log.Error("webhook: prepare delivery", "delivery", d.ID, "err", err)
		return
	}
	now := time.Now().UTC()
	d.LastStatus, d.LastResponse, d.LastError, d.Updated = out.status, out.response, out.err, now
	log := wk.log.With("delivery", d.ID, "attempt", d.Attempts, "status", out.status)
	switch {
	case out.ok:
		d.Status, d.NextAttempt = satchel.DeliveryDelivered, now
		log.Debug("webhook: delivered")
	case out.final || d.Attempts >= wk.opts.MaxAttempts:
		d.Status, d.NextAttempt = satchel.DeliveryFailed, now
		log.Warn("webhook: delivery failed", "err", out.err)
	default:
		wait := max(backoff(d.Attempts, wk.opts.BaseBackoff, wk.opts.MaxBackoff), min(out.retryAfter, wk.opts.MaxBackoff))
		d.Status, d.NextAttempt = satchel.DeliveryPending, now.Add(wait)
		log.Info("webhook: attempt failed", "err", out.err, "retry_in", wait)
	}
	if err := wk.store.FinishDelivery(ctx, d); err != nil {
		if satchel.IsNotFound(err) {
			// Deleted with its subscription, or taken over after our lease ran out.
			log.Info("webhook: delivery gone or taken over")
			return
		}
		log.Error("webhook: record delivery", "err", err)
	}
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
