package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/satchel-project/satchel/blobstore"
)

// readyTimeout bounds each readiness check.
const readyTimeout = 2 * time.Second

// readyProbeKey is a blob key nothing is stored under: opening it proves the
// blob store answers.
const readyProbeKey = "readyz-probe"

// SetDraining marks the node as shutting down: /readyz answers 503 from now
// on, so load balancers stop sending new requests while in-flight ones finish.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Ready checks that the node can serve: it is not draining, the database
// answers a query and the blob store answers a lookup, each within a short
// timeout.
func (s *Server) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("draining")
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		return err
	}
	blob, err := s.Bucket.Open(ctx, readyProbeKey)
	if err == nil {
		blob.Close()
	} else if !errors.Is(err, blobstore.ErrNotFound) {
		return errors.New("blob store: " + err.Error())
	}
	return nil
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
