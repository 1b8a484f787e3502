// Package webhook delivers Uploadcare-compatible webhooks: it renders the
// payloads (v0.7 and legacy v0.6), signs them (X-Uc-Signature) and runs the
// Worker that sends the deliveries the store queued with each event
// (transactional outbox), retrying with exponential backoff.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// HTTP headers of a delivery.
const (
	// SignatureHeader carries Sign(secret, body) when the subscription has a secret.
	SignatureHeader = "X-Uc-Signature"
	// DeliveryIDHeader identifies a delivery; it is the same on every retry,
	// so receivers can drop duplicates.
	DeliveryIDHeader = "X-Satchel-Delivery-Id"
	// EventHeader names the event type ("file.uploaded"…).
	EventHeader = "X-Satchel-Event"
	// UserAgent is the User-Agent of deliveries.
	UserAgent = "Satchel-Webhooks"
)

// Sign returns the X-Uc-Signature value of body: "v1=" followed by the
// lowercase hex HMAC-SHA256 of the exact body bytes keyed with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature (an X-Uc-Signature value) signs body with
// secret, in constant time.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(strings.TrimSpace(signature)), []byte(Sign(secret, body)))
}
