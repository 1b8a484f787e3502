package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// bar is a one-line progress bar drawn on stderr when the CLI runs in a
// terminal. A nil *bar does nothing, so callers need no checks.
type bar struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	last  time.Time
	drawn bool
	done  int64
	total int64
}

// newBar returns a bar, or nil when not on a terminal or printing JSON.
func (c *cli) newBar(label string) *bar {
	if !c.e.tty || c.g.json {
		return nil
	}
	if len(label) > 30 {
		label = "…" + label[len(label)-29:]
	}
	return &bar{w: c.e.stderr, label: label}
}

// set records progress (total < 0: unknown) and redraws at most ten times a
// second.
func (b *bar) set(done, total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.total = done, total
	if now := time.Now(); now.Sub(b.last) >= 100*time.Millisecond || done == total {
		b.last = now
		b.draw()
	}
}

func (b *bar) draw() {
	const width = 30
	line := ""
	if b.total > 0 {
		frac := min(float64(b.done)/float64(b.total), 1)
		n := int(frac * width)
		line = fmt.Sprintf("\r%-30s [%s%s] %3d%% %s/%s", b.label, strings.Repeat("#", n), strings.Repeat(".", width-n), int(frac*100), size(b.done), size(b.total))
	} else {
		line = fmt.Sprintf("\r%-30s %s", b.label, size(b.done))
	}
	fmt.Fprint(b.w, line)
	b.drawn = true
}

// finish draws the final state and ends the line.
func (b *bar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		b.draw()
		fmt.Fprintln(b.w)
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// barWriter counts bytes written through it into a bar.
type barWriter struct {
	w     io.Writer
	bar   *bar
	n     int64
	total int64
}

func (b *barWriter) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	b.n += int64(n)
	b.bar.set(b.n, b.total)
	return n, err
}
