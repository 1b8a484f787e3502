package webhook

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, max := 5*time.Second, time.Hour
	for n, ceil := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 4: 40 * time.Second, 10: 2560 * time.Second, 11: time.Hour, 60: time.Hour} {
		var top time.Duration
		for range 2000 {
			d := backoff(n, base, max)
			if d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %s, outside [0, %s]", n, d, ceil)
			}
			top = maxDur(top, d)
		}
		if top < ceil/2 {
			t.Fatalf("backoff(%d) never above %s (ceiling %s): not jittered over the range", n, top, ceil)
		}
	}
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
