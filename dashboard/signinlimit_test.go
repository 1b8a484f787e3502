package dashboard

import (
	"net/netip"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/httpx"
)

func TestFailureLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newFailureLimit(3, 15*time.Minute)
	l.now = func() time.Time { return now }
	a, b := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.8")
	for i := 1; i <= 3; i++ {
		if _, ok := l.blocked(a); ok {
			t.Fatalf("blocked after %d failures", i-1)
		}
		if reached := l.fail(a); reached != (i == 3) {
			t.Fatalf("failure %d: reached %v", i, reached)
		}
	}
	if left, ok := l.blocked(a); !ok || left != 15*time.Minute {
		t.Fatalf("after 3 failures: %v %v, want blocked for 15m", left, ok)
	}
	if _, ok := l.blocked(b); ok {
		t.Fatal("a neighbour IPv4 address is blocked too")
	}
	now = now.Add(15 * time.Minute)
	if _, ok := l.blocked(a); ok {
		t.Fatal("still blocked once the window ended")
	}
	if l.fail(a) {
		t.Fatal("the first failure of a new window reached the limit")
	}

	// IPv6 clients count by /64.
	v6a, v6b, v6c := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9"), netip.MustParseAddr("2001:db8:1:3::1")
	l.fail(v6a)
	l.fail(v6b)
	l.fail(v6a)
	if _, ok := l.blocked(v6b); !ok {
		t.Fatal("another address of the /64 is not blocked")
	}
	if _, ok := l.blocked(v6c); ok {
		t.Fatal("another /64 is blocked")
	}
}

// TestFailureLimitBounded: the table never holds more than maxLimitEntries
// addresses; when full it drops the windows that ended, else the least
// recently seen.
func TestFailureLimitBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newFailureLimit(2, time.Minute)
	l.now = func() time.Time { return now }
	first := netip.MustParseAddr("192.0.2.1")
	l.fail(first)
	for i := range maxLimitEntries + 100 {
		now = now.Add(time.Millisecond)
		l.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		if l.fails.Len() > maxLimitEntries {
			t.Fatalf("%d entries", l.fails.Len())
		}
	}
	var kept bool
	l.fails.Do(httpx.AddrKey(first), now, func(_ *failures, found bool) bool {
		kept = found
		return found
	})
	if kept {
		t.Fatal("the oldest entry was kept over newer ones")
	}
	// Once windows end, a full table makes room by dropping them all.
	now = now.Add(2 * time.Minute)
	l.fail(first)
	if l.fails.Len() != 1 {
		t.Fatalf("%d entries after every window ended, want 1", l.fails.Len())
	}
}
