package restapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
)

func TestRenderTable(t *testing.T) {
	batch := satchel.Errorf(satchel.KindTooLarge, satchel.ReasonBatchTooLarge, "Too many files.")
	batch.Limit = 100
	for _, c := range []struct {
		err    error
		status int
		detail string
	}{
		{errors.New("disk on fire"), 500, "Internal error."},
		{batch, 400, "Maximum UUIDs per request is exceeded. The limit is 100"},
		{&satchel.Error{Kind: satchel.KindThrottled, Reason: satchel.ReasonThrottled, Message: "Slow down.", RetryAfter: 7}, 429,
			"Request was throttled. Expected available in 7 seconds."},
		{satchel.Errorf(satchel.KindNotFound, satchel.ReasonFileNotFound, "File is not found."), 404, "Not found."},
		{satchel.Errorf(satchel.KindInvalid, "", "limit must be an integer."), 400, "limit must be an integer."},
		{satchel.Errorf(satchel.KindNotFound, satchel.ReasonWebhookNotFound, "Webhook with ID 7 not found."), 404, "Webhook with ID 7 not found."},
		{satchel.Errorf(satchel.KindExpired, "", "The link expired."), 403, "The link expired."},
		{satchel.Errorf(satchel.Kind(99), "", "secret state"), 500, "Internal error."},
		// A search past its time bound says so (other unavailable errors do not).
		{fmt.Errorf("app: %w", satchel.Errorf(satchel.KindUnavailable, satchel.ReasonSearchTimeout, "The search took longer than 5s; narrow its conditions.")), 503,
			"The search took longer than 5s; narrow its conditions."},
		{satchel.Errorf(satchel.KindUnavailable, "", "pool exhausted"), 503, "Internal error."},
	} {
		_, row, detail := render(c.err)
		if row.status != c.status || detail != c.detail {
			t.Errorf("%v: %d %q, want %d %q", c.err, row.status, detail, c.status, c.detail)
		}
	}
}

// Every kind answers its usual status unless the REST API words it
// otherwise (errorRows).
func TestRenderKindStatus(t *testing.T) {
	for k := satchel.KindInternal; k <= satchel.KindTimeout; k++ {
		if _, row, _ := render(satchel.Errorf(k, "", "x")); row.status != httpx.Status(k) {
			t.Errorf("%v: %d, want %d", k, row.status, httpx.Status(k))
		}
	}
}
