package dashboard

import (
	"net/netip"
	"sync"
	"time"
)

// maxLimitEntries bounds the addresses the sign-in limit remembers.
const maxLimitEntries = 10000

// failureLimit counts failed sign-ins per client address (an IPv6 client
// by its /64, which one host usually holds whole) in fixed windows: once an
// address has failed max times in a window, it is refused until the
// window ends. Counts are per node.
type failureLimit struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[netip.Prefix]*failures
}

type failures struct {
	n     int
	since time.Time
}

func newFailureLimit(max int, window time.Duration) *failureLimit {
	return &failureLimit{max: max, window: window, now: time.Now, fails: map[netip.Prefix]*failures{}}
}

func limitKey(ip netip.Addr) netip.Prefix {
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// blocked reports whether ip is refused, and for how much longer.
func (l *failureLimit) blocked(ip netip.Addr) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[limitKey(ip)]
	if f == nil || f.n < l.max {
		return 0, false
	}
	left := f.since.Add(l.window).Sub(l.now())
	return left, left > 0
}

// fail counts a failed sign-in from ip and reports whether it was the one
// that reached the limit.
func (l *failureLimit) fail(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, k := l.now(), limitKey(ip)
	f := l.fails[k]
	if f != nil && now.Sub(f.since) >= l.window {
		f = nil
	}
	if f == nil {
		if len(l.fails) >= maxLimitEntries {
			l.evict(now)
		}
		f = &failures{since: now}
		l.fails[k] = f
	}
	f.n++
	return f.n == l.max
}

// evict forgets the windows that ended or, when none did, the oldest one.
func (l *failureLimit) evict(now time.Time) {
	var oldest netip.Prefix
	var since time.Time
	for k, f := range l.fails {
		if now.Sub(f.since) >= l.window {
			delete(l.fails, k)
		} else if since.IsZero() || f.since.Before(since) {
			oldest, since = k, f.since
		}
	}
	if len(l.fails) >= maxLimitEntries {
		delete(l.fails, oldest)
	}
}
