// Package logbuf batches log output. Lines written to a Writer are kept in
// memory and written out together: when the batch reaches a size, on a short
// timer, before any line written through Direct, and on Close. A busy server
// then pays one write(2) per batch of access-log lines instead of one per
// request.
//
// Nothing is dropped. Memory is bounded: a writer that fills the batch
// writes it out itself, waiting for an earlier batch still being written, so
// a batch holds at most Size bytes plus one line per concurrent writer, and
// the output's speed limits the callers as an unbuffered log would. Lines in a batch are lost only if the process dies without
// Close (SIGKILL, a crash): at most the last interval's lines.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultSize     = 64 << 10
	DefaultInterval = 100 * time.Millisecond
)

// Options tune a Writer. Zero values take the defaults.
type Options struct {
	// Size is the batch size at which lines are written out at once.
	Size int
	// Interval is the longest a line waits in memory.
	Interval time.Duration
}

// Writer batches the lines written to it; it is safe for concurrent use.
// Each Write must be whole lines (slog handlers write one record per call).
type Writer struct {
	out  io.Writer
	size int

	// wmu orders the writes to out and guards spare.
	wmu   sync.Mutex
	spare []byte

	mu     sync.Mutex
	buf    []byte
	closed bool

	stop chan struct{}
	done chan struct{}
}

// New returns a Writer batching lines to out, and starts its timer; Close
// stops it.
func New(out io.Writer, o Options) *Writer {
	if o.Size <= 0 {
		o.Size = DefaultSize
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	w := &Writer{out: out, size: o.Size, buf: make([]byte, 0, o.Size+4096), spare: make([]byte, 0, o.Size+4096),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.tick(o.Interval)
	return w
}

func (w *Writer) tick(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write adds p to the batch (after Close it writes p at once). It returns
// the error of the batch write it made, if it made one.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.wmu.Lock()
		defer w.wmu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= w.size
	w.mu.Unlock()
	if full {
		if err := w.Flush(); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes out the lines waiting in the batch.
func (w *Writer) Flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.flushLocked()
}

// flushLocked writes the batch; the caller holds wmu.
func (w *Writer) flushLocked() error {
	w.mu.Lock()
	b := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	var err error
	if len(b) > 0 {
		_, err = w.out.Write(b)
	}
	if cap(b) > 4*w.size {
		b = make([]byte, 0, w.size+4096) // a burst of long lines: do not keep its memory
	}
	w.spare = b[:0]
	return err
}

// Direct returns a writer for lines that must not wait (warnings, errors):
// each Write first writes out the batch, so that lines keep their order,
// then p.
func (w *Writer) Direct() io.Writer { return direct{w} }

type direct struct{ w *Writer }

func (d direct) Write(p []byte) (int, error) {
	d.w.wmu.Lock()
	defer d.w.wmu.Unlock()
	d.w.flushLocked()
	return d.w.out.Write(p)
}

// Close writes out the batch and stops the timer; later writes go straight
// to the output. It does not close the output.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return w.Flush()
}
