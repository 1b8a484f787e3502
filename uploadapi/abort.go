package uploadapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/satchel-project/satchel"
)

// clientBody wraps a request body and remembers whether reading it failed:
// a body cut short (unexpected EOF, connection reset) means the client
// went away, which is not a server error.
type clientBody struct {
	io.ReadCloser
	failed atomic.Bool
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.failed.Store(true)
	}
	return n, err
}

type clientBodyKey struct{}

// trackBody makes the request body's read failures visible to writeError.
func trackBody(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cb := &clientBody{ReadCloser: r.Body}
		r.Body = cb
		next(w, r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, cb)))
	}
}

// errAborted answers a request whose body ended early (the client has
// usually gone by then).
var errAborted = satchel.Errorf(satchel.KindInvalid, reasonBodyIncomplete, "The request body ended before its declared length.")

// clientAborted reports whether err comes from the client going away: its
// request body could not be read to the end, or its request was cancelled.
func clientAborted(r *http.Request, err error) bool {
	if cb, ok := r.Context().Value(clientBodyKey{}).(*clientBody); ok && cb.failed.Load() {
		return true
	}
	return errors.Is(err, context.Canceled) && r.Context().Err() != nil
}
