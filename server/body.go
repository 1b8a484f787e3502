package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/satchel-project/satchel"
)

// errBodyTimeout answers a request whose body arrived too slowly.
var errBodyTimeout = satchel.Errorf(satchel.KindTimeout, satchel.ReasonBodyTimeout, "The request body was not received in time.")

// bodyLimits bounds how slowly a request body may arrive: every window of
// Idle must carry at least MinRate × Idle bytes (one byte when MinRate is 0).
// The window restarts as soon as its quota has arrived, so a client that
// pauses longer than Idle, or trickles slower than MinRate, is cut.
type bodyLimits struct {
	MinRate int64
	Idle    time.Duration
}

// guardBodies applies l to the body of every request that has one.
func guardBodies(h http.Handler, l bodyLimits) http.Handler {
	if l.Idle <= 0 {
		return h
	}
	quota := max(l.MinRate*int64(l.Idle)/int64(time.Second), 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		g := &guardedBody{body: r.Body, rc: http.NewResponseController(w), window: l.Idle, quota: quota}
		r.Body = g
		h.ServeHTTP(w, r)
		g.finish()
		// The server looks at the body it gave the handler to decide whether
		// to read what is left of it or close the connection.
		r.Body = g.body
	})
}

// guardedBody is a request body read under a read deadline that moves
// forward one window at a time, as each window's quota of bytes arrives.
type guardedBody struct {
	body   io.ReadCloser
	rc     *http.ResponseController
	window time.Duration
	quota  int64

	mu       sync.Mutex
	start    time.Time // of the current window; zero before the first read
	received int64     // in the current window
	eof      bool
	err      error
}

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	if g.eof {
		return 0, io.EOF
	}
	if g.start.IsZero() || g.received >= g.quota {
		g.start, g.received = time.Now(), 0
		if err := g.rc.SetReadDeadline(g.start.Add(g.window)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			g.err = err
			return 0, err
		}
	}
	n, err := g.body.Read(p)
	g.received += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		// The server reads ahead on an idle connection once the body is
		// done; that read must not inherit the body's deadline.
		g.eof = true
		g.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		g.err = errBodyTimeout
		err = g.err
	}
	return n, err
}

// Close implements io.Closer.
func (g *guardedBody) Close() error { return g.body.Close() }

// finish runs when the handler returns: a body it did not read to the end
// may still be discarded by the server, which must not wait on it longer
// than one window.
func (g *guardedBody) finish() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.eof {
		g.rc.SetReadDeadline(time.Now().Add(g.window))
	}
}
