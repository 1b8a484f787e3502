package legacyapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/httpx"
	"github.com/satchel-project/satchel/internal/signing"
)

// An errorRow is how the dialect answers one kind of error: a status and,
// unless empty, its own wording (see satchel.Error.Fill).
type errorRow struct {
	status  int
	message string
}

// kindWording is the dialect's wording of the kinds of error whose own
// sentence it does not show; every kind gets its usual status (httpx.Status).
var kindWording = map[satchel.Kind]string{
	satchel.KindInternal:    "Internal error.",
	satchel.KindNotFound:    "Not found.",
	satchel.KindThrottled:   "Request was throttled. Expected available in {retry_after} seconds.",
	satchel.KindUnavailable: "Service unavailable.",
}

// reasonRows words the reasons the dialect answers otherwise than their kind.
var reasonRows = map[satchel.Reason]errorRow{
	signing.ReasonDate:         {http.StatusUnauthorized, "Date or X-Uploadcare-Date is missing, unreadable or more than 15 minutes off."},
	signing.ReasonSignature:    {http.StatusForbidden, "Invalid signature."},
	satchel.ReasonKeyInvalid:   {http.StatusUnauthorized, "Unknown public key {value}."},
	satchel.ReasonFileNotFound: {http.StatusNotFound, "File not found."},
}

var errNotFound = satchel.Errorf(satchel.KindNotFound, "", "Not found.")

// errorBody is {"error": "…"} or <error>…</error>.
type errorBody struct {
	XMLName xml.Name `json:"-" xml:"error"`
	Error   string   `json:"error" xml:",chardata"`
}

func (h *Handler) writeError(r *request, err error) {
	e := satchel.AsError(err)
	row, ok := reasonRows[e.Reason]
	if !ok {
		row = errorRow{httpx.Status(e.Kind), kindWording[e.Kind]}
	}
	msg := e.Message
	if row.message != "" {
		msg = e.Fill(row.message)
	}
	if row.status >= 500 {
		h.log.ErrorContext(r.Context(), "legacy api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.RetryAfter > 0 {
		r.w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	r.reply(row.status, errorBody{Error: msg})
}

// wantsXML reads the format from Accept, else from Content-Type; JSON by default.
func wantsXML(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	if strings.Contains(acc, "xml") || strings.Contains(acc, "json") {
		return strings.Contains(acc, "xml")
	}
	return strings.Contains(r.Header.Get("Content-Type"), "xml")
}

// reply writes v as JSON or XML.
func (r *request) reply(status int, v any) error {
	var buf bytes.Buffer
	ct := "application/json"
	var err error
	if wantsXML(r.Request) {
		ct = "application/xml; charset=utf-8"
		buf.WriteString(xml.Header)
		err = xml.NewEncoder(&buf).Encode(v)
	} else {
		err = json.NewEncoder(&buf).Encode(v)
	}
	if err != nil {
		return fmt.Errorf("legacyapi: encode: %w", err)
	}
	r.w.Header().Set("Content-Type", ct)
	r.w.Header().Set("Vary", "Accept, Content-Type")
	r.w.WriteHeader(status)
	_, err = r.w.Write(buf.Bytes())
	return err
}
