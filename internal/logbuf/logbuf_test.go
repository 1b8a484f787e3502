package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// output records the writes that reach it.
type output struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// An hour-long interval keeps the timer out of the tests that do not wait
// for it.
const never = time.Hour

// TestLinesArriveInOrderAndCloseFlushes: lines from concurrent writers all
// arrive, whole, each writer's in its order; nothing is written before the
// batch fills, and Close writes what is left.
func TestLinesArriveInOrderAndCloseFlushes(t *testing.T) {
	out := &output{}
	w := New(out, Options{Size: 4096, Interval: never})
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fmt.Fprintf(w, "writer=%d line=%d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if out.writes == 0 {
		t.Fatal("no batch was written although the lines filled many")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != writers*each {
		t.Fatalf("%d lines arrived, want %d", len(lines), writers*each)
	}
	next := make([]int, writers)
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer=%d line=%d", &g, &i); err != nil {
			t.Fatalf("broken line %q", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d arrived where %d was due", g, i, next[g])
		}
		next[g]++
	}
	if out.writes >= writers*each/10 {
		t.Errorf("%d writes for %d lines: not batched", out.writes, len(lines))
	}
}

// TestNothingWrittenBeforeFlushOrClose: a small batch waits for the timer,
// a Flush or Close; after Close, writes go straight through.
func TestNothingWrittenBeforeFlushOrClose(t *testing.T) {
	out := &output{}
	w := New(out, Options{Size: 1 << 20, Interval: never})
	w.Write([]byte("a\n"))
	w.Write([]byte("b\n"))
	if got := out.String(); got != "" {
		t.Fatalf("written before any flush: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "a\nb\n" {
		t.Fatalf("after Close: %q", got)
	}
	w.Write([]byte("c\n"))
	if got := out.String(); got != "a\nb\nc\n" {
		t.Fatalf("write after Close: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

// TestDirectKeepsOrder: a line written through Direct goes out at once,
// after the batched lines written before it.
func TestDirectKeepsOrder(t *testing.T) {
	out := &output{}
	w := New(out, Options{Size: 1 << 20, Interval: never})
	defer w.Close()
	w.Write([]byte("access 1\n"))
	w.Direct().Write([]byte("warning\n"))
	if got := out.String(); got != "access 1\nwarning\n" {
		t.Fatalf("got %q", got)
	}
	w.Write([]byte("access 2\n"))
	w.Flush()
	if got := out.String(); got != "access 1\nwarning\naccess 2\n" {
		t.Fatalf("got %q", got)
	}
}

// TestTimerFlushes: a line left alone is written by the timer.
func TestTimerFlushes(t *testing.T) {
	out := &output{}
	w := New(out, Options{Size: 1 << 20, Interval: 5 * time.Millisecond})
	defer w.Close()
	w.Write([]byte("alone\n"))
	deadline := time.Now().Add(10 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the timer never wrote the batch")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := out.String(); got != "alone\n" {
		t.Fatalf("got %q", got)
	}
}
