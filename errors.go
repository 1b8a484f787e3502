package satchel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind says what went wrong, independently of how an API reports it. Each
// surface (Upload API, REST, CDN…) maps kinds and reasons to its own status
// codes, error codes and wording.
type Kind uint8

// The kinds of domain errors.
const (
	// KindInternal is a fault of the server; clients see no detail.
	KindInternal Kind = iota
	// KindInvalid is a missing or malformed request value (Field names it).
	KindInvalid
	// KindNotFound is a record that does not exist (or not for this caller).
	KindNotFound
	// KindConflict is a change that clashes with the current state.
	KindConflict
	// KindForbidden is a request the caller may not make.
	KindForbidden
	// KindUnauthorized is a caller that could not be identified.
	KindUnauthorized
	// KindTooLarge is a size or count over a limit (Limit holds it).
	KindTooLarge
	// KindThrottled is a caller over its rate; RetryAfter says when to return.
	KindThrottled
	// KindUnavailable is a server too busy or not ready; RetryAfter may be set.
	KindUnavailable
	// KindExpired is a credential or link whose time ran out.
	KindExpired
	// KindTimeout is a request that did not arrive in time.
	KindTimeout
)

var kindNames = [...]string{"internal", "invalid", "not found", "conflict", "forbidden", "unauthorized",
	"too large", "throttled", "unavailable", "expired", "timeout"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Reason names one case of a kind ("file_too_large"), so that a surface can
// word it in its own terms. The reasons the core produces are listed in
// reasons.go.
type Reason string

// Error is a domain error: a kind, the case (Reason) and its data. It carries
// no wire format; each API surface renders it from its own table.
type Error struct {
	Kind   Kind
	Reason Reason
	// Message is a plain sentence for the case, used by surfaces whose table
	// does not word the reason itself, and in logs.
	Message string
	// Field names the request value concerned, if any.
	Field string
	// Value is the offending value, as received, if any.
	Value string
	// Limit is the bound that was exceeded, if any.
	Limit int64
	// RetryAfter, in seconds, for throttled or unavailable errors.
	RetryAfter int
	// Err is the wrapped cause, never shown to clients.
	Err error
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Reason != "" {
		s += " (" + string(e.Reason) + ")"
	}
	s += ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of a kind and reason with a formatted message. The
// data fields (Field, Value, Limit) are set on the result where a surface
// words the case itself.
func Errorf(kind Kind, reason Reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Fill expands a surface's wording of e: {field}, {value}, {value:q} (quoted
// like %q), {limit} and {retry_after} become e's data.
func (e *Error) Fill(template string) string {
	if !strings.Contains(template, "{") {
		return template
	}
	return strings.NewReplacer(
		"{field}", e.Field,
		"{value}", e.Value,
		"{value:q}", strconv.Quote(e.Value),
		"{limit}", strconv.FormatInt(e.Limit, 10),
		"{retry_after}", strconv.Itoa(e.RetryAfter),
	).Replace(template)
}

// ServerFault reports whether e is the server's doing rather than the
// client's (internal or unavailable).
func (e *Error) ServerFault() bool { return e.Kind == KindInternal || e.Kind == KindUnavailable }

// AsError returns err as an *Error, turning unknown errors into KindInternal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Message: "Internal error.", Err: err}
}

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// ErrNotFound is returned by stores when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by stores when a unique record already exists.
var ErrConflict = errors.New("already exists")
