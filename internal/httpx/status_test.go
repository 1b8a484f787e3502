package httpx

import (
	"net/http"
	"strings"
	"testing"

	"github.com/satchel-project/satchel"
)

// TestStatus: every kind the core knows has its own status, only internal
// errors (and kinds Status does not know) are 500, and the client's kinds
// are 4xx.
func TestStatus(t *testing.T) {
	want := map[satchel.Kind]int{
		satchel.KindInternal:     http.StatusInternalServerError,
		satchel.KindInvalid:      http.StatusBadRequest,
		satchel.KindNotFound:     http.StatusNotFound,
		satchel.KindConflict:     http.StatusConflict,
		satchel.KindForbidden:    http.StatusForbidden,
		satchel.KindUnauthorized: http.StatusUnauthorized,
		satchel.KindTooLarge:     http.StatusRequestEntityTooLarge,
		satchel.KindThrottled:    http.StatusTooManyRequests,
		satchel.KindUnavailable:  http.StatusServiceUnavailable,
		satchel.KindExpired:      http.StatusForbidden,
		satchel.KindTimeout:      http.StatusRequestTimeout,
	}
	for k := satchel.KindInternal; !strings.HasPrefix(k.String(), "kind("); k++ {
		w, ok := want[k]
		if !ok {
			t.Errorf("kind %v has no expected status in this test", k)
			continue
		}
		if got := Status(k); got != w {
			t.Errorf("Status(%v) = %d, want %d", k, got, w)
		}
	}
	if got := Status(satchel.Kind(200)); got != http.StatusInternalServerError {
		t.Errorf("Status(unknown) = %d, want 500", got)
	}
}
