package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
)

// conversionJob is one item of a conversion answer's result.
type conversionJob struct {
	OriginalSource      string  `json:"original_source"`
	Token               int64   `json:"token"`
	UUID                string  `json:"uuid"`
	ThumbnailsGroupUUID *string `json:"thumbnails_group_uuid,omitempty"`
}

func (h *Handler) convertDocument(r *request) error { return h.convert(r, satchel.ConvertDocument) }
func (h *Handler) convertVideo(r *request) error    { return h.convert(r, satchel.ConvertVideo) }

// convert starts conversions: problems are keyed by the submitted path and
// every result carries it back byte for byte (the clients match on it).
func (h *Handler) convert(r *request, kind string) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil || raw == nil {
		return badRequest("Expected JSON object.")
	}
	var paths []string
	if p, ok := raw["paths"]; !ok || json.Unmarshal(p, &paths) != nil || len(paths) == 0 {
		return badRequest("“paths” parameter is required.")
	}
	var store, group flexBool
	if v, ok := raw["store"]; ok && (json.Unmarshal(v, &store) != nil || store.bad) {
		return badRequest("“store” parameter should be true or false.")
	}
	if v, ok := raw["save_in_group"]; ok && (json.Unmarshal(v, &group) != nil || group.bad) {
		return badRequest("“save_in_group” parameter should be true or false.")
	}
	st := ""
	if store.set {
		st = "0"
		if store.v {
			st = "1"
		}
	}
	jobs, problems, err := h.app.Convert(r.Context(), r.project, kind, paths, st, group.set && group.v)
	if err != nil {
		return h.converterError(r, err)
	}
	out := struct {
		Problems map[string]string `json:"problems"`
		Result   []conversionJob   `json:"result"`
	}{Problems: problems, Result: []conversionJob{}}
	for _, j := range jobs {
		cj := conversionJob{OriginalSource: j.OriginalSource, Token: j.Conversion.Token, UUID: j.Conversion.ResultUUID}
		if kind == satchel.ConvertVideo {
			g := j.Conversion.ThumbsGroup
			cj.ThumbnailsGroupUUID = &g
		}
		out.Result = append(out.Result, cj)
	}
	return r.replyRaw(http.StatusOK, out)
}

// replyRaw is reply without HTML escaping, so paths come back byte for byte.
func (r *request) replyRaw(status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return r.reply(status, json.RawMessage(buf.Bytes()))
}

// converterError answers 503 in plain text when the converter is not there.
func (h *Handler) converterError(r *request, err error) error {
	if errors.Is(err, app.ErrConverterUnavailable) {
		h.log.Error("conversion", "err", err)
		r.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		r.w.WriteHeader(http.StatusServiceUnavailable)
		r.w.Write([]byte("Conversion service is unavailable.\n"))
		return nil
	}
	return err
}

func (h *Handler) documentStatus(r *request) error {
	return h.conversionStatus(r, satchel.ConvertDocument)
}
func (h *Handler) videoStatus(r *request) error { return h.conversionStatus(r, satchel.ConvertVideo) }

func (h *Handler) conversionStatus(r *request, kind string) error {
	token, err := strconv.ParseInt(r.PathValue("token"), 10, 64)
	if err != nil || token <= 0 {
		return notFound()
	}
	c, err := h.app.ConversionStatus(r.Context(), r.project, kind, token)
	if err != nil {
		return err
	}
	type result struct {
		UUID                string  `json:"uuid"`
		ThumbnailsGroupUUID *string `json:"thumbnails_group_uuid,omitempty"`
	}
	out := struct {
		Status   string  `json:"status"`
		Error    *string `json:"error"`
		Progress int     `json:"progress"`
		Result   result  `json:"result"`
	}{Status: c.Status, Progress: c.Progress, Result: result{UUID: c.ResultUUID}}
	if c.Error != "" {
		out.Error = &c.Error
	}
	if kind == satchel.ConvertVideo {
		out.Result.ThumbnailsGroupUUID = &c.ThumbsGroup
	}
	return r.replyRaw(http.StatusOK, out)
}

func (h *Handler) documentInfo(r *request) error {
	d, err := h.app.DocumentInfo(r.Context(), r.project, r.PathValue("uuid"))
	if err != nil {
		return h.converterError(r, err)
	}
	type name struct {
		Name string `json:"name"`
	}
	formats := []name{}
	for _, t := range d.Targets {
		formats = append(formats, name{t})
	}
	out := struct {
		Error  *string `json:"error"`
		Format struct {
			Name              string            `json:"name"`
			ConversionFormats []name            `json:"conversion_formats"`
			ConvertedGroups   map[string]string `json:"converted_groups"`
		} `json:"format"`
		ConvertedGroups map[string]string `json:"converted_groups"`
	}{ConvertedGroups: d.ConvertedGroups}
	out.Format.Name, out.Format.ConversionFormats, out.Format.ConvertedGroups = d.Name, formats, d.ConvertedGroups
	return r.replyRaw(http.StatusOK, out)
}
