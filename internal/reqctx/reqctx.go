// Package reqctx carries what is known about the HTTP request being served
// through its context: the request id, the route pattern and, once a handler
// has found it, the project's public key. Access logs, metrics and every
// log line written with the request's context read it from there.
package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
)

// Info describes one request. ID is set before the request is handed on and
// never changes; the route is the pattern the server's mux matched, known
// from the moment the mux hands the request to its handler; the project key
// is set while it is handled.
type Info struct {
	ID string
	// req is the request given to the mux, which sets its Pattern.
	req *http.Request

	mu      sync.Mutex
	project string
}

// Route returns the route pattern that matched the request ("" before the
// mux routed it, when none matched, and outside a request).
func (i *Info) Route() string {
	if i == nil || i.req == nil {
		return ""
	}
	return i.req.Pattern
}

// WithRequest returns a copy of r whose context carries info, and ties the
// info's route to the pattern the mux will set on that copy. This is how a
// request gets its route with a single lookup: the mux's own.
func WithRequest(r *http.Request, info *Info) *http.Request {
	r2 := r.WithContext(With(r.Context(), info))
	info.req = r2
	return r2
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request info in ctx, or nil outside a request.
func From(ctx context.Context) *Info {
	info, _ := ctx.Value(key{}).(*Info)
	return info
}

// SetProject records the public key of the project the request acts for.
func SetProject(ctx context.Context, publicKey string) {
	if info := From(ctx); info != nil {
		info.mu.Lock()
		info.project = publicKey
		info.mu.Unlock()
	}
}

// Project returns the recorded project public key ("" when unknown).
func (i *Info) Project() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.project
}

// maxIDLen bounds request ids accepted from clients.
const maxIDLen = 64

// CleanID returns a client-supplied request id when it is 1-64 characters of
// letters, digits and ".-_:", or a new random id otherwise.
func CleanID(id string) string {
	if id != "" && len(id) <= maxIDLen {
		ok := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	return NewID()
}

// idPrefix is random per process: with idCounter it makes request ids
// unique across nodes and restarts without a random read per request.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() [12]byte {
	var b [6]byte
	_, _ = rand.Read(b[:])
	var p [12]byte
	hex.Encode(p[:], b[:])
	return p
}

// NewID returns a new request id: 24 hexadecimal digits, a random prefix of
// the process and a counter of the requests it numbered.
func NewID() string {
	const digits = "0123456789abcdef"
	var b [24]byte
	copy(b[:12], idPrefix[:])
	n := idCounter.Add(1)
	for i := 23; i >= 12; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// LogHandler wraps h so that records logged with a request's context carry
// its request id.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(logHandler); ok {
		return h
	}
	return logHandler{h}
}

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if info := From(ctx); info != nil {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", info.ID))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	return logHandler{l.Handler.WithGroup(name)}
}
