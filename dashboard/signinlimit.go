package dashboard

import (
	"net/netip"
	"time"

	"github.com/satchel-project/satchel/internal/httpx"
	"github.com/satchel-project/satchel/internal/ratelimit"
)

// maxLimitEntries bounds the addresses the sign-in limit remembers.
const maxLimitEntries = 10000

// failureLimit counts failed sign-ins per client address (an IPv6 client
// by its /64, which one host usually holds whole: httpx.AddrKey) in fixed
// windows: once an address has failed max times in a window, it is refused
// until the window ends. Counts are per node. An address unseen for a
// window has no window running any more and is forgotten; when the table
// is full, the least recently seen address goes first.
type failureLimit struct {
	max    int
	window time.Duration
	now    func() time.Time

	fails *ratelimit.Table[netip.Prefix, failures]
}

type failures struct {
	n     int
	since time.Time
}

func newFailureLimit(max int, window time.Duration) *failureLimit {
	return &failureLimit{max: max, window: window, now: time.Now, fails: ratelimit.New[netip.Prefix, failures](maxLimitEntries, window)}
}

// blocked reports whether ip is refused, and for how much longer.
func (l *failureLimit) blocked(ip netip.Addr) (left time.Duration, refused bool) {
	now := l.now()
	l.fails.Do(httpx.AddrKey(ip), now, func(f *failures, found bool) bool {
		if !found {
			return false
		}
		if f.n >= l.max {
			left = f.since.Add(l.window).Sub(now)
			refused = left > 0
		}
		return now.Sub(f.since) < l.window
	})
	return left, refused
}

// fail counts a failed sign-in from ip and reports whether it was the one
// that reached the limit.
func (l *failureLimit) fail(ip netip.Addr) (reached bool) {
	now := l.now()
	l.fails.Do(httpx.AddrKey(ip), now, func(f *failures, found bool) bool {
		if !found || now.Sub(f.since) >= l.window {
			*f = failures{since: now}
		}
		f.n++
		reached = f.n == l.max
		return true
	})
	return reached
}
