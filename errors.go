package satchel

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a domain error that every API dialect can render: it carries an
// Uploadcare error code, the HTTP status and a human sentence.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, in seconds, for throttling errors.
	RetryAfter int
	// Err is the wrapped cause, never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, turning unknown errors into a 500.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "UploadAPIError", Message: "Internal error.", Err: err}
}

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// ErrNotFound is returned by stores when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by stores when a unique record already exists.
var ErrConflict = errors.New("already exists")
