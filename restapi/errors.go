package restapi

import (
	"net/http"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
)

// reasonSimpleAuthOverHTTP refuses the secret key sent in clear text.
const reasonSimpleAuthOverHTTP satchel.Reason = "rest.simple_auth_over_http"

// An errorRow is how the REST API answers one kind of error: a status and a
// {"detail": …} body.
type errorRow struct {
	// status is the HTTP status; 0 is the kind's usual one (httpx.Status).
	status int
	// detail words the error, with the error's data filled in (see
	// satchel.Error.Fill); empty means the error's own sentence.
	detail string
	// nonField also lists the detail under "non_field_errors", which
	// pyuploadcare reads (the Go and JS clients read "detail").
	nonField bool
}

// kindRows words the kinds of error whose REST detail is not the error's
// own sentence. Every kind has its usual status (httpx.Status); a kind
// missing here answers with that status and the error's sentence.
var kindRows = map[satchel.Kind]errorRow{
	satchel.KindInternal:    {detail: "Internal error."},
	satchel.KindNotFound:    {detail: "Not found."},
	satchel.KindThrottled:   {detail: "Request was throttled. Expected available in {retry_after} seconds."},
	satchel.KindUnavailable: {detail: "Internal error."},
}

// errorRows words the reasons the REST API answers otherwise than their kind.
var errorRows = map[satchel.Reason]errorRow{
	satchel.ReasonKeyRequired:       {status: http.StatusForbidden},
	satchel.ReasonKeyInvalid:        {status: http.StatusForbidden},
	satchel.ReasonFileTooLarge:      {status: http.StatusBadRequest},
	satchel.ReasonFileTypeForbidden: {status: http.StatusBadRequest},
	satchel.ReasonFileNotReady:      {status: http.StatusBadRequest},
	satchel.ReasonBatchEmpty:        {status: http.StatusBadRequest, detail: "List of UUIDs can not be empty"},
	satchel.ReasonBatchTooLarge:     {status: http.StatusBadRequest, detail: "Maximum UUIDs per request is exceeded. The limit is {limit}"},
	satchel.ReasonCopyParamRequired: {status: http.StatusBadRequest, detail: "`{field}` parameter is required."},
	satchel.ReasonCopySourceInvalid: {status: http.StatusBadRequest, detail: "Bad `source` parameter. Use UUID or CDN URL."},
	satchel.ReasonCopyOpsDisabled:   {status: http.StatusBadRequest},
	satchel.ReasonCopyTooLarge:      {status: http.StatusBadRequest},
	satchel.ReasonCopyTargetUnknown: {status: http.StatusBadRequest},

	satchel.ReasonWebhooksDisabled:      {status: http.StatusBadRequest, detail: "You can't use webhooks"},
	satchel.ReasonWebhookFieldMissing:   {status: http.StatusBadRequest, detail: "`{field}` is missing."},
	satchel.ReasonWebhookTargetInvalid:  {status: http.StatusBadRequest, detail: "`{field}` must be an absolute http(s) URL of at most 255 characters."},
	satchel.ReasonWebhookEventInvalid:   {status: http.StatusBadRequest, detail: "`{field}` is invalid: {value:q}."},
	satchel.ReasonWebhookSecretTooLong:  {status: http.StatusBadRequest, detail: "`{field}` can not be longer than {limit} characters."},
	satchel.ReasonWebhookVersionInvalid: {status: http.StatusBadRequest, detail: "`{field}` must be 0.6 or 0.7."},
	satchel.ReasonWebhookNotUnique:      {status: http.StatusBadRequest, nonField: true},
	satchel.ReasonWebhookNotFound:       {}, // its own sentence, with the id
	satchel.ReasonSearchTimeout:         {}, // its own sentence (503)

	reasonSimpleAuthOverHTTP: {status: http.StatusBadRequest},
}

// render gives the row of err and its detail text.
func render(err error) (*satchel.Error, errorRow, string) {
	e := satchel.AsError(err)
	row, ok := errorRows[e.Reason]
	if !ok {
		row, ok = kindRows[e.Kind]
	}
	if !ok && httpx.Status(e.Kind) >= 500 {
		// A fault the client is told nothing of (a kind unknown here too).
		row = kindRows[satchel.KindInternal]
	}
	if row.status == 0 {
		row.status = httpx.Status(e.Kind)
	}
	if row.detail == "" {
		return e, row, e.Message
	}
	return e, row, e.Fill(row.detail)
}
