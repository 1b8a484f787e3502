package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
)

// Request body limits (the file content is bounded by the project's file size).
const (
	maxFields     = 1000
	maxValueBytes = 64 << 10
	maxBodyBytes  = 1 << 20
)

// body is a request body read into nested values: maps, lists and leaves
// (strings from forms; strings, booleans and numbers from JSON). Form names
// with brackets nest like JSON: file[metadata][foo]=bar is
// {"file":{"metadata":{"foo":"bar"}}}, and file[metadata][][key]=k appends
// to a list.
type body struct {
	values map[string]any
	// content is file[content] of a multipart form, received into a
	// temporary blob; the caller commits or aborts it.
	content *app.Incoming
}

func malformed(format string, args ...any) error {
	return satchel.Errorf(satchel.KindInvalid, reasonBodyMalformed, format, args...)
}

// readBody reads a JSON, urlencoded or multipart body. contentLimit > 0
// accepts a file[content] part of at most that many bytes, an upload of
// project p.
func (h *Handler) readBody(r *http.Request, p *satchel.Project, contentLimit int64) (*body, error) {
	b := &body{values: map[string]any{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "multipart/form-data":
		if err := h.readMultipart(r, p, b, contentLimit); err != nil {
			if b.content != nil {
				b.content.Abort()
				b.content = nil
			}
			return nil, err
		}
		return b, nil
	case ct == "application/x-www-form-urlencoded":
		raw, err := readAll(r.Body)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, kv := range strings.Split(string(raw), "&") {
			if kv == "" {
				continue
			}
			if n++; n > maxFields {
				return nil, malformed("Too many form fields.")
			}
			k, v, _ := strings.Cut(kv, "=")
			dk, err1 := url.QueryUnescape(k)
			dv, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				return nil, malformed("The form is malformed.")
			}
			setPath(b.values, splitName(dk), dv)
		}
		return b, nil
	}
	raw, err := readAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, malformed("The JSON body is malformed: %v.", err)
	}
	if dec.More() {
		return nil, malformed("The JSON body is malformed: data after the object.")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformed("The JSON body must be an object.")
	}
	b.values = m
	return b, nil
}

func readAll(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jsonapi: read body: %w", err)
	}
	if len(raw) > maxBodyBytes {
		return nil, &satchel.Error{Kind: satchel.KindTooLarge, Reason: reasonBodyMalformed, Message: "The request body is too large.", Limit: maxBodyBytes}
	}
	return raw, nil
}

// readMultipart streams a multipart form: file[content] goes into a
// temporary blob as it arrives, the other fields are kept as values.
func (h *Handler) readMultipart(r *http.Request, p *satchel.Project, b *body, contentLimit int64) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return malformed("The multipart form is malformed.")
	}
	n := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return malformed("The multipart form is malformed.")
		}
		if n++; n > maxFields {
			return malformed("Too many form fields.")
		}
		name := part.FormName()
		if name == "file[content]" || name == "content" {
			if contentLimit <= 0 || b.content != nil {
				return malformed("Unexpected file content.")
			}
			in, err := h.app.Receive(r.Context(), p, "content", part.FileName(), part.Header.Get("Content-Type"), part, contentLimit)
			if errors.Is(err, app.ErrTooLarge) {
				return &satchel.Error{Kind: satchel.KindTooLarge, Reason: satchel.ReasonFileTooLarge, Message: "File is too large.", Limit: contentLimit}
			}
			if err != nil {
				return err
			}
			b.content = in
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxValueBytes+1))
		if err != nil {
			return fmt.Errorf("jsonapi: read form: %w", err)
		}
		if len(v) > maxValueBytes {
			return malformed("The form field %s is too long.", name)
		}
		setPath(b.values, splitName(name), string(v))
	}
}

// splitName splits a bracketed form name: "file[metadata][foo]" is
// ["file", "metadata", "foo"]; "[]" is an empty key (a list).
func splitName(name string) []string {
	i := strings.IndexByte(name, '[')
	if i <= 0 || !strings.HasSuffix(name, "]") {
		return []string{name}
	}
	keys := []string{name[:i]}
	rest := name[i:]
	for rest != "" {
		if rest[0] != '[' {
			return []string{name}
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return []string{name}
		}
		keys = append(keys, rest[1:j])
		rest = rest[j+1:]
	}
	return keys
}

// setPath stores v under keys in m, creating maps and lists on the way.
func setPath(m map[string]any, keys []string, v any) {
	k, rest := keys[0], keys[1:]
	if len(rest) == 0 {
		m[k] = v
		return
	}
	if rest[0] == "" {
		list, _ := m[k].([]any)
		rest = rest[1:]
		if len(rest) == 0 {
			m[k] = append(list, v)
			return
		}
		// A list of objects: a key the last object has starts a new one.
		var last map[string]any
		if n := len(list); n > 0 {
			last, _ = list[n-1].(map[string]any)
		}
		if _, taken := last[rest[0]]; last == nil || taken {
			last = map[string]any{}
			list = append(list, last)
		}
		setPath(last, rest, v)
		m[k] = list
		return
	}
	sub, ok := m[k].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[k] = sub
	}
	setPath(sub, rest, v)
}

// member returns the object under root ({"file":{…}}), or the whole body
// when it has no such member.
func (b *body) member(root string) map[string]any {
	if m, ok := b.values[root].(map[string]any); ok {
		return m
	}
	return b.values
}

// text reads a leaf as a string.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func fieldError(field, format string, args ...any) error {
	e := satchel.Errorf(satchel.KindInvalid, "", format, args...)
	e.Field = field
	return e
}

// boolean reads a leaf as a boolean; ok is false when absent.
func boolean(m map[string]any, field string) (val, ok bool, err error) {
	v, present := m[field]
	if !present || v == nil {
		return false, false, nil
	}
	if b, isBool := v.(bool); isBool {
		return b, true, nil
	}
	s, _ := text(v)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, true, nil
	case "false", "0", "no", "off", "":
		return false, true, nil
	}
	return false, false, fieldError(field, "%s must be true or false.", field)
}

// integer reads a leaf as an integer; ok is false when absent.
func integer(m map[string]any, field string) (val int64, ok bool, err error) {
	v, present := m[field]
	if !present || v == nil {
		return 0, false, nil
	}
	s, isText := text(v)
	if isText {
		if n, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64); perr == nil {
			return n, true, nil
		}
	}
	return 0, false, fieldError(field, "%s must be an integer.", field)
}

// str reads a leaf as a string ("" when absent).
func str(m map[string]any, field string) (string, error) {
	v, present := m[field]
	if !present || v == nil {
		return "", nil
	}
	s, ok := text(v)
	if !ok {
		return "", fieldError(field, "%s must be a string.", field)
	}
	return s, nil
}

// expiresAt reads expires_at: set reports whether it was given, t is nil
// when it was given empty or null (no expiry).
func expiresAt(m map[string]any) (t *time.Time, set bool, err error) {
	v, present := m["expires_at"]
	if !present {
		return nil, false, nil
	}
	if v == nil {
		return nil, true, nil
	}
	s, ok := text(v)
	if !ok {
		return nil, false, errExpires(fmt.Sprint(v))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if tt, err := time.Parse(layout, s); err == nil {
			tt = tt.UTC()
			return &tt, true, nil
		}
	}
	return nil, false, errExpires(s)
}

func errExpires(v string) error {
	e := satchel.Errorf(satchel.KindInvalid, satchel.ReasonExpiresInvalid, "expires_at must be an ISO 8601 time.")
	e.Field, e.Value = "expires_at", v
	return e
}

// metadataInput reads file[metadata]: an object replaces the whole map,
// a list of {key, value} sets only those keys.
func metadataInput(m map[string]any) (replace, patch map[string]string, err error) {
	v, present := m["metadata"]
	if !present || v == nil {
		return nil, nil, nil
	}
	switch x := v.(type) {
	case map[string]any:
		replace = map[string]string{}
		for k, val := range x {
			s, ok := text(val)
			if !ok {
				return nil, nil, fieldError("metadata", "metadata values must be strings.")
			}
			replace[k] = s
		}
		return replace, nil, nil
	case []any:
		patch = map[string]string{}
		for _, item := range x {
			o, ok := item.(map[string]any)
			if !ok {
				return nil, nil, fieldError("metadata", "metadata must be an object or a list of {key, value} objects.")
			}
			k, ok1 := text(o["key"])
			val, ok2 := text(o["value"])
			if !ok1 || !ok2 {
				return nil, nil, fieldError("metadata", "every metadata entry needs a key and a value.")
			}
			patch[k] = val
		}
		return nil, patch, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return map[string]string{}, nil, nil
		}
	}
	return nil, nil, fieldError("metadata", "metadata must be an object or a list of {key, value} objects.")
}
