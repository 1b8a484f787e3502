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
	"sync"
)

// Info describes one request. ID and Route are set before the request is
// handed on and never change; the project key is set while it is handled.
type Info struct {
	ID    string
	Route string

	mu      sync.Mutex
	project string
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

// NewID returns a random request id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
