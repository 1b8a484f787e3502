package restapi

import (
	"errors"
	"testing"

	"github.com/satchel-project/satchel"
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
	} {
		_, row, detail := render(c.err)
		if row.status != c.status || detail != c.detail {
			t.Errorf("%v: %d %q, want %d %q", c.err, row.status, detail, c.status, c.detail)
		}
	}
}
