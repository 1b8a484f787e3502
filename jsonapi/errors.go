package jsonapi

import (
	"net/http"
	"strings"

	"github.com/satchel-project/satchel"
)

// The reasons of the errors the dialect raises itself, while reading a
// request or checking its credentials.
const (
	reasonBodyMalformed   satchel.Reason = "jsonapi.body_malformed"
	reasonContentRequired satchel.Reason = "jsonapi.content_required"
	reasonSecretRequired  satchel.Reason = "jsonapi.secret_required"
	reasonCredentials     satchel.Reason = "jsonapi.credentials_invalid"
	reasonNotFound        satchel.Reason = "jsonapi.not_found"
	reasonNotPending      satchel.Reason = "jsonapi.not_chunked"
	reasonUnknownFileID   satchel.Reason = "jsonapi.unknown_file_id"
)

// An errorRow is how the dialect answers one kind of error: the status, the
// error code and the title of its JSON:API error object.
type errorRow struct {
	status int
	code   string
	title  string
	// detail words the error (see satchel.Error.Fill); empty means the
	// error's own sentence.
	detail string
}

// kindRows answers each kind of error.
var kindRows = map[satchel.Kind]errorRow{
	satchel.KindInternal:     {http.StatusInternalServerError, "internal_error", "Internal Server Error", "Internal error."},
	satchel.KindInvalid:      {http.StatusUnprocessableEntity, "invalid", "Unprocessable Entity", ""},
	satchel.KindNotFound:     {http.StatusNotFound, "not_found", "Not Found", "Not found."},
	satchel.KindConflict:     {http.StatusConflict, "conflict", "Conflict", ""},
	satchel.KindForbidden:    {http.StatusForbidden, "forbidden", "Forbidden", ""},
	satchel.KindUnauthorized: {http.StatusUnauthorized, "unauthorized", "Unauthorized", ""},
	satchel.KindTooLarge:     {http.StatusRequestEntityTooLarge, "too_large", "Payload Too Large", ""},
	satchel.KindThrottled:    {http.StatusTooManyRequests, "throttled", "Too Many Requests", "Request was throttled: retry in {retry_after} seconds."},
	satchel.KindUnavailable:  {http.StatusServiceUnavailable, "unavailable", "Service Unavailable", "The server is busy: retry later."},
	satchel.KindExpired:      {http.StatusForbidden, "expired", "Forbidden", ""},
	satchel.KindTimeout:      {http.StatusRequestTimeout, "timeout", "Request Timeout", ""},
}

// errorRows answers the reasons the dialect words otherwise than their kind.
var errorRows = map[satchel.Reason]errorRow{
	reasonBodyMalformed:   {http.StatusBadRequest, "body_malformed", "Bad Request", ""},
	reasonContentRequired: {http.StatusUnprocessableEntity, "content_required", "Unprocessable Entity", "file[content] or file[source_url] is required."},
	reasonSecretRequired:  {http.StatusUnauthorized, "secret_required", "Unauthorized", ""},
	reasonCredentials:     {http.StatusUnauthorized, "unauthorized", "Unauthorized", "Invalid credentials."},
	reasonNotFound:        {http.StatusNotFound, "not_found", "Not Found", "Not found."},
	reasonNotPending:      {http.StatusConflict, "not_chunked", "Conflict", ""},
	reasonUnknownFileID:   {http.StatusUnprocessableEntity, "unknown_file_id", "Unprocessable Entity", "Unknown file id: {value}."},

	satchel.ReasonKeyInvalid:         {http.StatusNotFound, "project_not_found", "Not Found", "Project not found."},
	satchel.ReasonKeyRequired:        {http.StatusNotFound, "project_not_found", "Not Found", "Project not found."},
	satchel.ReasonFileNotFound:       {http.StatusNotFound, "not_found", "Not Found", "Not found."},
	satchel.ReasonGroupNotFound:      {http.StatusNotFound, "not_found", "Not Found", "Not found."},
	satchel.ReasonWebhookNotFound:    {http.StatusNotFound, "not_found", "Not Found", "Not found."},
	satchel.ReasonFileNotReady:       {http.StatusConflict, "file_not_ready", "Conflict", ""},
	satchel.ReasonSourceRequired:     {http.StatusUnprocessableEntity, "source_url_required", "Unprocessable Entity", "file[source_url] is required."},
	satchel.ReasonFetchRefused:       {http.StatusUnprocessableEntity, "source_url_invalid", "Unprocessable Entity", ""},
	satchel.ReasonFileTooLarge:       {http.StatusRequestEntityTooLarge, "file_too_large", "Payload Too Large", "The file is larger than the project allows ({limit} bytes)."},
	satchel.ReasonMultipartTooLarge:  {http.StatusRequestEntityTooLarge, "file_too_large", "Payload Too Large", "The file is larger than the project allows ({limit} bytes)."},
	satchel.ReasonFileTypeForbidden:  {http.StatusUnprocessableEntity, "file_type_forbidden", "Unprocessable Entity", ""},
	satchel.ReasonChunkSizeInvalid:   {http.StatusUnprocessableEntity, "chunk_size_invalid", "Unprocessable Entity", ""},
	satchel.ReasonTooManyParts:       {http.StatusUnprocessableEntity, "chunk_size_invalid", "Unprocessable Entity", "Too many chunks: at most {limit} are allowed."},
	satchel.ReasonPartSizeTooSmall:   {http.StatusUnprocessableEntity, "chunk_size_invalid", "Unprocessable Entity", "chunk_size can not be less than {limit} bytes on this server."},
	satchel.ReasonPartSizeTooBig:     {http.StatusUnprocessableEntity, "chunk_size_invalid", "Unprocessable Entity", "chunk_size can not be more than {limit} bytes."},
	satchel.ReasonUploadIncomplete:   {http.StatusConflict, "chunks_missing", "Conflict", "Not all chunks were uploaded."},
	satchel.ReasonUploadSizeMismatch: {http.StatusConflict, "chunks_missing", "Conflict", "Not all chunks were uploaded in full."},
	satchel.ReasonUploadOverExpected: {http.StatusConflict, "chunks_size_mismatch", "Conflict", ""},
	satchel.ReasonUploadDone:         {http.StatusConflict, "already_complete", "Conflict", "The chunked upload is already complete."},
	satchel.ReasonExpiresInvalid:     {http.StatusUnprocessableEntity, "expires_at_invalid", "Unprocessable Entity", "expires_at must be an ISO 8601 time."},
	satchel.ReasonGroupFilesRequired: {http.StatusUnprocessableEntity, "file_ids_required", "Unprocessable Entity", "file_ids is required."},
	satchel.ReasonWebhookEventInvalid: {http.StatusUnprocessableEntity, "event_invalid", "Unprocessable Entity",
		"Unknown event {value:q}: use file.created, file.updated, file.stored, file.deleted or file.infected."},
	satchel.ReasonWebhookNotUnique: {http.StatusConflict, "webhook_not_unique", "Conflict", "The project already has a webhook for this event and target_url."},
}

// fieldNames maps the service's names of request values to this dialect's.
var fieldNames = map[string]string{
	"part_size": "chunk_size", "file_id": "id", "uuid": "id", "files": "file_ids", "event": "events",
	"UPLOADCARE_STORE": "store", "expire": "expires_at",
}

// errorObject is one entry of a JSON:API errors body.
type errorObject struct {
	Status string        `json:"status"`
	Code   string        `json:"code"`
	Title  string        `json:"title"`
	Detail string        `json:"detail"`
	Source *errorSource  `json:"source,omitempty"`
	Meta   *errorMetaRow `json:"meta,omitempty"`
}

type errorSource struct {
	Pointer string `json:"pointer"`
}

type errorMetaRow struct {
	Limit int64 `json:"limit,omitempty"`
}

// render gives err's status and JSON:API error object; root is the
// request's top-level member ("file", "webhook") that pointers start at.
func render(err error, root string) (*satchel.Error, int, errorObject) {
	e := satchel.AsError(err)
	row, ok := errorRows[e.Reason]
	if !ok {
		row, ok = kindRows[e.Kind]
	}
	if !ok {
		row = kindRows[satchel.KindInternal]
	}
	detail := e.Message
	if row.detail != "" {
		detail = e.Fill(row.detail)
	}
	obj := errorObject{Status: itoa(row.status), Code: row.code, Title: row.title, Detail: detail}
	if e.Field != "" && row.status < 500 {
		f := e.Field
		if n, ok := fieldNames[f]; ok {
			f = n
		}
		p := "/" + f
		if root != "" && f != "id" {
			p = "/" + root + p
		}
		if f == "metadata" && e.Value != "" && e.Reason != satchel.ReasonMetaTooManyKeys {
			p += "/" + strings.ReplaceAll(strings.ReplaceAll(e.Value, "~", "~0"), "/", "~1")
		}
		obj.Source = &errorSource{Pointer: p}
	}
	if e.Limit > 0 {
		obj.Meta = &errorMetaRow{Limit: e.Limit}
	}
	return e, row.status, obj
}
