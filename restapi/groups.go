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
	pg, err := paginate(r, "/groups/", gq.Limit, gq.Desc, func(cursor string, desc bool, limit int) ([]*satchel.Group, error) {
		q := gq
		q.Desc, q.Limit = desc, limit
		if cursor != "" {
			key, id, err := splitCursor(cursor, satchel.ValidGroupID)
			if err != nil {
				return nil, err
			}
			t, ok := parseCursorTime(key)
			if !ok {
				return nil, badRequest("Bad from value: %s.", cursor)
			}
			q.FromTime, q.FromID = &t, id
		}
		return h.app.Store.ListGroups(r.Context(), q)
	}, func(g *satchel.Group) string { return cursorOf(cursorTime(g.Created), g.ID) })
	if err != nil {
		return err
	}
	groups, next, prev, limit := pg.items, pg.next, pg.prev, pg.limit
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
		if satchel.AsError(err).Kind == satchel.KindNotFound {
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
		if satchel.AsError(err).Kind == satchel.KindNotFound {
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
