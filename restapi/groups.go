package restapi

import (
	"encoding/json"
	"net/http"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

func (h *Handler) listGroups(r *request) error {
	q := r.URL.Query()
	gq := satchel.GroupQuery{ProjectID: r.project.ID}
	var err error
	if gq.Limit, err = pageLimit(q); err != nil {
		return err
	}
	switch o := q.Get("ordering"); o {
	case "", "datetime_created":
	case "-datetime_created":
		gq.Desc = true
	default:
		return badRequest("Unknown ordering: %s.", o)
	}
	backward := false
	cursor := q.Get("from")
	if cursor == "" && q.Get("to") != "" {
		cursor, backward = q.Get("to"), true
	}
	if cursor != "" {
		t, ok := parseCursorTime(cursor)
		if !ok {
			return badRequest("Bad from value: %s.", cursor)
		}
		gq.FromTime = &t
	}
	limit := gq.Limit
	gq.Limit++
	if backward {
		gq.Desc = !gq.Desc
	}
	groups, err := h.app.Store.ListGroups(r.Context(), gq)
	if err != nil {
		return err
	}
	more := len(groups) > limit
	if more {
		groups = groups[:limit]
	}
	if backward {
		for i, j := 0, len(groups)-1; i < j; i, j = i+1, j-1 {
			groups[i], groups[j] = groups[j], groups[i]
		}
	}
	var next, prev *string
	if len(groups) > 0 && (more || backward) {
		s := pageLink(r, "/groups/", "from", cursorTime(groups[len(groups)-1].Created))
		next = &s
	}
	if len(groups) > 0 && (cursor != "" && !backward || backward && more) {
		s := pageLink(r, "/groups/", "to", cursorTime(groups[0].Created))
		prev = &s
	}
	total, err := h.app.Store.CountGroups(r.Context(), r.project.ID)
	if err != nil {
		return err
	}
	results := make([]json.RawMessage, len(groups))
	for i, g := range groups {
		results[i] = apiview.Group(g, r.version, r.bases, nil)
	}
	return r.reply(http.StatusOK, apiview.Object("next", next, "previous", prev, "total", total, "per_page", limit, "results", results))
}

func (h *Handler) groupInfo(r *request) error {
	g, files, err := h.app.GroupInfo(r.Context(), r.project, r.PathValue("id"))
	if err != nil {
		if satchel.AsError(err).Status == http.StatusNotFound {
			return notFound()
		}
		return err
	}
	if files == nil {
		files = []*satchel.File{}
	}
	return r.reply(http.StatusOK, apiview.Group(g, r.version, r.bases, files))
}

func (h *Handler) deleteGroup(r *request) error {
	if err := h.app.DeleteGroup(r.Context(), r.project, r.PathValue("id")); err != nil {
		return err
	}
	return r.noContent()
}

func (h *Handler) storeGroup(r *request) error {
	g, files, err := h.app.StoreGroup(r.Context(), r.project, r.PathValue("id"))
	if err != nil {
		if satchel.AsError(err).Status == http.StatusNotFound {
			return notFound()
		}
		return err
	}
	return r.reply(http.StatusOK, apiview.Group(g, r.version, r.bases, files))
}

func (h *Handler) projectInfo(r *request) error {
	return r.reply(http.StatusOK, apiview.Object(
		"collaborators", []any{}, "name", r.project.Name, "pub_key", r.project.PublicKey, "autostore_enabled", r.project.Autostore,
	))
}
