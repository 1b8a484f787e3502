package uploadapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/fetch"
)

func TestRenderTable(t *testing.T) {
	refused := &fetch.Error{Code: fetch.CodeURLSchemeInvalid, Message: "Invalid URL scheme."}
	small := satchel.Errorf(satchel.KindInvalid, satchel.ReasonMultipartTooSmall, "File size can not be less than 10 bytes.")
	small.Limit = 10
	busy := &satchel.Error{Kind: satchel.KindUnavailable, Reason: satchel.ReasonServerBusy, Message: "Too many uploads are in progress; try again later.", RetryAfter: 5}
	for _, c := range []struct {
		err  error
		want answer
	}{
		{errors.New("disk on fire"), answer{500, "UploadAPIError", "Internal error.", 0}},
		{fmt.Errorf("wrapped: %w", busy), answer{503, "RequestThrottledError", "Too many uploads are in progress; try again later.", 5}},
		{&satchel.Error{Kind: satchel.KindInvalid, Reason: satchel.ReasonFetchRefused, Message: refused.Message, Err: refused},
			answer{400, fetch.CodeURLSchemeInvalid, "Invalid URL scheme.", 0}},
		{small, answer{400, "MultipartFileSizeTooSmallError", "File size can not be less than 10 bytes. Please use direct upload instead of multipart.", 0}},
		{satchel.Errorf(satchel.KindConflict, "no.such.reason", "Odd."), answer{409, "UploadAPIError", "Odd.", 0}},
	} {
		if got := render(c.err); got != c.want {
			t.Errorf("%v: %+v, want %+v", c.err, got, c.want)
		}
	}
}
