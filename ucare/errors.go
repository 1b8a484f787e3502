package ucare

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// APIError is an error answer of an Uploadcare API: the root of every typed
// API error below (they all unwrap to it, so errors.As(err, &apiErr) with an
// *APIError target matches any of them).
type APIError struct {
	// StatusCode is the HTTP status (for Upload API errors sent with
	// jsonerrors, the status the error object reports).
	StatusCode int
	// Message is the API's explanation: the REST "detail" or the Upload API's
	// error sentence.
	Message string
	// Code is the Upload API's error code (e.g. "FileNotFoundError") when
	// the API gave one.
	Code string
	// Method and URL identify the request.
	Method string
	URL    string
}

// Error describes the failure.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.Code != "" {
		return fmt.Sprintf("ucare: %s %s: %d %s (%s)", e.Method, e.URL, e.StatusCode, msg, e.Code)
	}
	return fmt.Sprintf("ucare: %s %s: %d %s", e.Method, e.URL, e.StatusCode, msg)
}

// AuthenticationError is a 401 or 403 answer: wrong keys, a bad signature,
// an expired signed upload.
type AuthenticationError struct{ *APIError }

// Unwrap returns the underlying error.
func (e *AuthenticationError) Unwrap() error { return e.APIError }

// InvalidRequestError is a 400 or 404 answer (and other refusals of the
// request itself: 406, 409, 413).
type InvalidRequestError struct{ *APIError }

// Unwrap returns the underlying error.
func (e *InvalidRequestError) Unwrap() error { return e.APIError }

// ThrottledRequestError is a 429 answer that retries did not get past.
type ThrottledRequestError struct {
	*APIError
	// RetryAfter is how long the API asked to wait (Retry-After).
	RetryAfter time.Duration
}

// Unwrap returns the underlying error.
func (e *ThrottledRequestError) Unwrap() error { return e.APIError }

// WebhookIsNotUnique is the 400 answer to subscribing a target URL that is
// already subscribed to the event. It is also an *InvalidRequestError.
type WebhookIsNotUnique struct{ *InvalidRequestError }

// Unwrap returns the underlying error.
func (e *WebhookIsNotUnique) Unwrap() error { return e.InvalidRequestError }

// DuplicateFileError is returned by UploadFromURL when duplicate checking was
// asked for and the URL had been uploaded before: File is that earlier file.
// UploadFromURLAndWait returns the file instead of this error.
type DuplicateFileError struct {
	File *UploadedFile
}

// Error describes the failure.
func (e *DuplicateFileError) Error() string {
	return "ucare: the URL was uploaded before as file " + e.File.UUID
}

// TimeoutError is returned when waiting for something (an upload from URL,
// a conversion, an add-on, a request with Config.Timeout) took too long.
type TimeoutError struct {
	// Op says what was waited for.
	Op  string
	Err error
}

// Error describes the failure.
func (e *TimeoutError) Error() string {
	if e.Err != nil {
		return "ucare: timed out: " + e.Op + ": " + e.Err.Error()
	}
	return "ucare: timed out: " + e.Op
}

// Unwrap returns the underlying error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// UploadError is a failed upload from URL: the server could not fetch the
// file (Message and Code come from the status answer).
type UploadError struct {
	Token   string
	Message string
	Code    string
}

// Error describes the failure.
func (e *UploadError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("ucare: upload from URL failed: %s (%s)", e.Message, e.Code)
	}
	return "ucare: upload from URL failed: " + e.Message
}

// JobError is a conversion or add-on job that ended in failure.
type JobError struct {
	// Kind is "document conversion", "video conversion" or "add-on <name>".
	Kind string
	// ID is the job token or add-on request id.
	ID      string
	Status  string
	Message string
}

// Error describes the failure.
func (e *JobError) Error() string {
	msg := e.Kind + " " + e.ID + " " + e.Status
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return "ucare: " + msg
}

// APIConnectionError is a network failure talking to an API (after the
// retries Config allows).
type APIConnectionError struct {
	Method string
	URL    string
	Err    error
}

// Error describes the failure.
func (e *APIConnectionError) Error() string {
	return fmt.Sprintf("ucare: %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the underlying error.
func (e *APIConnectionError) Unwrap() error { return e.Err }

// InvalidParamError is a call the client refuses before sending it.
type InvalidParamError struct {
	Param   string
	Message string
}

// Error describes the failure.
func (e *InvalidParamError) Error() string {
	return "ucare: invalid " + e.Param + ": " + e.Message
}

// ErrSecretKeyRequired is returned by REST API calls (and signed uploads)
// on a client configured without a secret key.
var ErrSecretKeyRequired = errors.New("ucare: this call needs the project's secret key (Config.SecretKey)")

// IsNotFound reports whether err is an API answer saying the thing asked for
// does not exist (404).
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// classify wraps an API error in the typed error its status calls for.
func classify(e *APIError, retryAfter time.Duration, body []byte) error {
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return &AuthenticationError{e}
	case e.StatusCode == http.StatusTooManyRequests:
		return &ThrottledRequestError{APIError: e, RetryAfter: retryAfter}
	case e.StatusCode == http.StatusBadRequest && containsAll(string(body), "non_field_errors", "project is already subscribed on this event"):
		return &WebhookIsNotUnique{&InvalidRequestError{e}}
	case e.StatusCode == http.StatusBadRequest, e.StatusCode == http.StatusNotFound,
		e.StatusCode == http.StatusNotAcceptable, e.StatusCode == http.StatusConflict,
		e.StatusCode == http.StatusRequestEntityTooLarge:
		return &InvalidRequestError{e}
	}
	return e
}
