package app

import (
	"net/netip"
	"sync"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
	"github.com/satchel-project/satchel/internal/ratelimit"
	"golang.org/x/time/rate"
)

// retryAfterBusy is the Retry-After, in seconds, of an upload refused for
// capacity.
const retryAfterBusy = 5

var (
	errServerBusy = &satchel.Error{Kind: satchel.KindUnavailable, Reason: satchel.ReasonServerBusy,
		Message: "Too many uploads are in progress; try again later.", RetryAfter: retryAfterBusy}
	errProjectBusy = &satchel.Error{Kind: satchel.KindThrottled, Reason: satchel.ReasonProjectBusy,
		Message: "Too many uploads are in progress for this project; try again later.", RetryAfter: retryAfterBusy}
)

// uploadSlots caps the uploads being received (Receive and PutPart, whatever
// the dialect): on the whole node and per project. Zero caps are unlimited.
type uploadSlots struct {
	maxTotal, maxProject int

	mu      sync.Mutex
	total   int
	project map[int64]int
}

// acquire takes a node-wide slot; release gives it back. Slots are
// counted (UploadsInProgress) even without a cap.
func (s *uploadSlots) acquire() (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxTotal > 0 && s.total >= s.maxTotal {
		return nil, errServerBusy
	}
	s.total++
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.total--
		s.mu.Unlock()
	}), nil
}

// acquireProject takes one of the project's slots; release gives it back.
func (s *uploadSlots) acquireProject(id int64) (release func(), err error) {
	if s.maxProject <= 0 {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.project[id] >= s.maxProject {
		return nil, errProjectBusy
	}
	if s.project == nil {
		s.project = map[int64]int{}
	}
	s.project[id]++
	return sync.OnceFunc(func() {
		s.mu.Lock()
		if s.project[id]--; s.project[id] <= 0 {
			delete(s.project, id)
		}
		s.mu.Unlock()
	}), nil
}

// UploadsInProgress counts the uploads being received by this node: direct
// uploads and multipart part writes, of every dialect.
func (a *App) UploadsInProgress() int {
	a.slots.mu.Lock()
	defer a.slots.mu.Unlock()
	return a.slots.total
}

// maxAnonymousClients bounds the anonymous rate limiters a node keeps.
const maxAnonymousClients = 100_000

// anonymousLimiters hold the anonymous creates of each project and client
// address block (httpx.AddrKey): token buckets of the project's per-minute
// rate. A bucket unused for a minute is full again, the same as a new one,
// so it is forgotten then.
type anonymousLimiters = ratelimit.Table[anonymousClient, anonymousBucket]

func newAnonymousLimiters() *anonymousLimiters {
	return ratelimit.New[anonymousClient, anonymousBucket](maxAnonymousClients, time.Minute)
}

type anonymousClient struct {
	project int64
	addr    netip.Prefix
}

type anonymousBucket struct {
	perMinute int
	lim       *rate.Limiter
}

// ThrottleAnonymous charges one anonymous create of a client address to
// the project's anonymous rate (see satchel.Project.AnonymousRate) and
// returns a KindThrottled error when it is spent. IPv6 clients are counted
// by /64, the block one subscriber usually holds.
func (a *App) ThrottleAnonymous(p *satchel.Project, client netip.Addr) error {
	perMinute := p.AnonymousRate()
	if perMinute <= 0 {
		return nil
	}
	now := time.Now()
	var wait time.Duration
	a.anonymous.Do(anonymousClient{project: p.ID, addr: httpx.AddrKey(client)}, now, func(b *anonymousBucket, _ bool) bool {
		if b.lim == nil || b.perMinute != perMinute {
			*b = anonymousBucket{perMinute: perMinute, lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), perMinute)}
		}
		r := b.lim.ReserveN(now, 1)
		if wait = r.DelayFrom(now); wait > 0 {
			r.CancelAt(now)
		}
		return true
	})
	if wait > 0 {
		return &satchel.Error{Kind: satchel.KindThrottled, Reason: satchel.ReasonAnonymousThrottled,
			Message: "Too many anonymous uploads from this address.", RetryAfter: int(wait/time.Second) + 1}
	}
	return nil
}
