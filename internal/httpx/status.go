package httpx

import (
	"net/http"

	"github.com/satchel-project/satchel"
)

// Status is the usual HTTP status of a kind of error (500 for internal
// errors and kinds it does not know). A surface whose answer to a kind
// differs keeps that case in its own error table and asks Status for the
// rest.
func Status(k satchel.Kind) int {
	switch k {
	case satchel.KindInvalid:
		return http.StatusBadRequest
	case satchel.KindNotFound:
		return http.StatusNotFound
	case satchel.KindConflict:
		return http.StatusConflict
	case satchel.KindForbidden, satchel.KindExpired:
		return http.StatusForbidden
	case satchel.KindUnauthorized:
		return http.StatusUnauthorized
	case satchel.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case satchel.KindThrottled:
		return http.StatusTooManyRequests
	case satchel.KindUnavailable:
		return http.StatusServiceUnavailable
	case satchel.KindTimeout:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}
