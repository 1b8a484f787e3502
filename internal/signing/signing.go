// Package signing checks the signed requests of the REST dialects: an
// HMAC-SHA1, under the project's secret key, of the request's method, the MD5
// of its body, its content type, its date and its URI.
package signing

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
)

// DateWindow is how far a signed request's date may be from server time.
const DateWindow = 15 * time.Minute

// Reasons of the errors Date and Check return (both of KindUnauthorized).
const (
	// ReasonDate is a date header that is missing, unreadable or outside DateWindow.
	ReasonDate satchel.Reason = "signing.date"
	// ReasonSignature is a signature that does not match the request.
	ReasonSignature satchel.Reason = "signing.signature"
)

// Date returns the date a request is signed with (X-Uploadcare-Date, else
// Date), or an error when it is missing, unreadable or stale.
func Date(r *http.Request) (string, error) {
	date := r.Header.Get("X-Uploadcare-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	t, ok := ParseDate(date)
	if d := time.Since(t); !ok || d > DateWindow || d < -DateWindow {
		return "", satchel.Errorf(satchel.KindUnauthorized, ReasonDate, "Incorrect authentication credentials.")
	}
	return date, nil
}

// Check reports an error unless sig (hex, any case) signs r, whose body is
// body and signing date date, under secret.
func Check(r *http.Request, body []byte, date, secret, sig string) error {
	ct := r.Header.Get("Content-Type")
	for _, uri := range signedURIs(r) {
		want := Signature(secret, r.Method, body, ct, date, uri)
		if hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
			return nil
		}
	}
	return satchel.Errorf(satchel.KindUnauthorized, ReasonSignature, "Invalid signature. Please check your Secret key.")
}

// signedURIs are the request-URI spellings clients sign: the raw one on the
// wire, and the decoded path with the raw query (what the Go client signs).
func signedURIs(r *http.Request) []string {
	raw := r.RequestURI
	if raw == "" || strings.HasPrefix(raw, "http") {
		raw = r.URL.RequestURI()
	}
	dec := r.URL.Path
	if r.URL.RawQuery != "" {
		dec += "?" + r.URL.RawQuery
	}
	if dec == raw {
		return []string{raw}
	}
	if p, err := url.PathUnescape(r.URL.EscapedPath()); err == nil && p != r.URL.Path {
		return []string{raw, dec, p}
	}
	return []string{raw, dec}
}

// Signature is the signed-request HMAC-SHA1 over the request's parts.
func Signature(secret, method string, body []byte, contentType, date, uri string) string {
	sum := md5.Sum(body)
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(strings.ToUpper(method) + "\n" + hex.EncodeToString(sum[:]) + "\n" + contentType + "\n" + date + "\n" + uri))
	return hex.EncodeToString(m.Sum(nil))
}

var dateLayouts = []string{
	time.RFC1123,
	"Mon, 02 Jan 2006, 15:04:05 GMT", // pyuploadcare
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	time.RFC850,
	time.ANSIC,
}

// ParseDate parses the date formats clients send in Date/X-Uploadcare-Date.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
