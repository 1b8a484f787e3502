package jsonapi

import (
	"net/http"

	"github.com/satchel-project/satchel"
)

type groupAttributes struct {
	UUID       *string  `json:"uuid"`
	Status     string   `json:"status"`
	FilesCount int      `json:"files_count"`
	FileIDs    []string `json:"file_ids"`
	CDNURL     *string  `json:"cdn_url"`
	CreatedAt  string   `json:"created_at"`
}

type groupDoc struct {
	Type           string          `json:"type"`
	ID             string          `json:"id"`
	Attributes     groupAttributes `json:"attributes"`
	Relationships  relationships   `json:"relationships"`
	Authentication authentication  `json:"authentication"`
}

// groupState keeps the dialect ids of a group's files, in order.
type groupState struct {
	FileIDs []string `json:"file_ids"`
}

func (h *Handler) groupDoc(r *http.Request, c *caller, res *satchel.Resource, st groupState, token *string) groupDoc {
	d := groupDoc{Type: "groups", ID: res.ID, Relationships: projectRelationship(c.p), Authentication: authentication{AccessToken: token}}
	d.Attributes = groupAttributes{Status: "pending", FilesCount: len(st.FileIDs), FileIDs: st.FileIDs, CreatedAt: res.Created.UTC().Format(msLayout)}
	if d.Attributes.FileIDs == nil {
		d.Attributes.FileIDs = []string{}
	}
	if res.Target != "" {
		id := res.Target
		u := h.base(r) + "/" + id + "/"
		d.Attributes.UUID, d.Attributes.CDNURL, d.Attributes.Status = &id, &u, "ready"
	}
	return d
}

func groupStateOf(res *satchel.Resource) groupState {
	var st groupState
	_ = jsonUnmarshal(res.State, &st)
	return st
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err == nil {
		err = h.mayCreate(r, c)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.readBody(r, nil, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := b.member("group")
	var ids []string
	switch x := m["file_ids"].(type) {
	case []any:
		for _, v := range x {
			s, ok := text(v)
			if !ok {
				h.fail(w, r, fieldError("file_ids", "file_ids must be a list of file ids."))
				return
			}
			ids = append(ids, s)
		}
	case nil:
	default:
		h.fail(w, r, fieldError("file_ids", "file_ids must be a list of file ids."))
		return
	}
	if len(ids) == 0 {
		h.fail(w, r, fieldError("file_ids", "file_ids is required."))
		return
	}
	// The members are named by their dialect ids: each must be a live file
	// of the project that has arrived.
	uuids := make([]string, len(ids))
	for i, id := range ids {
		unknown := &satchel.Error{Kind: satchel.KindInvalid, Reason: reasonUnknownFileID, Field: "file_ids", Value: id, Message: "Unknown file id."}
		if !validID(id, prefixFile) {
			h.fail(w, r, unknown)
			return
		}
		res, err := h.app.Store.Resource(r.Context(), c.p.ID, id)
		if satchel.IsNotFound(err) && c.secret {
			// Files of other APIs, by their derived ids (only the secret
			// lists them).
			res, err = h.fileByDerivedID(r.Context(), c.p, id)
		}
		if satchel.IsNotFound(err) || (err == nil && (res.Kind != satchel.ResourceFile || res.Removed != nil)) {
			h.fail(w, r, unknown)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v, err := h.loadFile(r.Context(), c.p, res)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if v.f == nil {
			h.fail(w, r, errNotReady)
			return
		}
		uuids[i] = v.f.UUID
	}
	g, _, err := h.app.CreateGroup(r.Context(), c.p, uuids)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st := groupState{FileIDs: ids}
	res, token, err := h.newResource(r.Context(), c.p, satchel.ResourceGroup, g.ID, st)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusCreated, map[string]any{"data": h.groupDoc(r, c, res, st, &token)})
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err == nil && !c.secret {
		err = errSecretRequired
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg, items := page(r)
	rs, count, err := h.app.Store.ListResources(r.Context(), c.p.ID, satchel.ResourceGroup, (pg-1)*items, items)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	docs := make([]groupDoc, 0, len(rs))
	for _, res := range rs {
		docs = append(docs, h.groupDoc(r, c, res, groupStateOf(res), nil))
	}
	h.reply(w, http.StatusOK, map[string]any{"data": docs, "pagination": newPagination(count, pg, items)})
}

func (h *Handler) showGroup(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.resource(r, c, satchel.ResourceGroup, prefixGroup)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": h.groupDoc(r, c, res, groupStateOf(res), tokenFor(c, res, ""))})
}
