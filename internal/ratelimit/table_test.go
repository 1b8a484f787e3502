package ratelimit

import (
	"testing"
	"time"
)

// count adds one to key's counter and returns it.
func count(t *Table[int, int], key int, now time.Time) int {
	var n int
	t.Do(key, now, func(v *int, _ bool) bool {
		*v++
		n = *v
		return true
	})
	return n
}

func has(t *Table[int, int], key int, now time.Time) bool {
	var found bool
	t.Do(key, now, func(_ *int, ok bool) bool {
		found = ok
		return ok
	})
	return found
}

func TestTableBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tb := New[int, int](3, 0)
	for k := range 3 {
		count(tb, k, now)
	}
	count(tb, 0, now) // 0 is the most recently used, 1 the least
	count(tb, 3, now)
	if tb.Len() != 3 || has(tb, 1, now) || !has(tb, 0, now) || !has(tb, 2, now) || !has(tb, 3, now) {
		t.Fatalf("after overflow: %d entries, 1 kept %v", tb.Len(), has(tb, 1, now))
	}
	if n := count(tb, 0, now); n != 3 {
		t.Fatalf("counter of a kept entry: %d, want 3", n)
	}
	for k := range 1000 {
		count(tb, 100+k, now)
		if tb.Len() > 3 {
			t.Fatalf("%d entries", tb.Len())
		}
	}
}

func TestTableIdle(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tb := New[int, int](10, time.Minute)
	count(tb, 1, now)
	count(tb, 2, now)
	now = now.Add(59 * time.Second)
	if n := count(tb, 1, now); n != 2 {
		t.Fatalf("used before it idled: %d, want 2", n)
	}
	now = now.Add(time.Minute)
	if n := count(tb, 1, now); n != 1 {
		t.Fatalf("used after a minute idle: %d, want a new entry", n)
	}
	// Making room drops the idle entries first.
	if tb.Len() != 1 {
		t.Fatalf("%d entries, the idle one kept", tb.Len())
	}
	// A value not kept is removed, or never added.
	tb.Do(1, now, func(*int, bool) bool { return false })
	tb.Do(5, now, func(*int, bool) bool { return false })
	if tb.Len() != 0 {
		t.Fatalf("%d entries after removal", tb.Len())
	}
}
