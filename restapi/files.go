package restapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

// parseBool reads the boolean spellings clients send in queries and bodies.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

var fromLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// parseCursorTime reads a "from"/"to" datetime (naive values are UTC).
func parseCursorTime(s string) (time.Time, bool) {
	s = strings.Replace(strings.TrimSpace(s), " ", "+", 1) // an unescaped "+" arrives as a space
	for _, l := range fromLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// cursorTime renders a cursor so that parsing it gives back the exact key.
func cursorTime(t time.Time) string { return apiview.Time(t) }

// cursorSep joins an item's sort key and its id in the "from"/"to" values of
// the links this API writes. A key alone (what clients send, and what the
// API documents) selects the items strictly beyond it; the id breaks ties, so
// that items sharing a key (files committed by one request share their upload
// time, sizes repeat) are neither skipped nor repeated. It travels inside
// "from" because some clients follow a link by re-sending only its "from",
// "limit", "ordering", "stored" and "removed".
const cursorSep = "_"

// cursorOf is the cursor of an item: its sort key and its id.
func cursorOf(key, id string) string { return key + cursorSep + id }

// splitCursor reads a cursor into its sort key and tie-breaking id ("" when
// it has none); valid says whether an id is well-formed.
func splitCursor(cursor string, valid func(string) bool) (key, id string, err error) {
	key, id, tied := strings.Cut(cursor, cursorSep)
	if tied && !valid(id) {
		return "", "", badRequest("Bad from value: %s.", cursor)
	}
	return key, id, nil
}

// pageLimit reads "limit": default 100, clamped to 1..1000.
func pageLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("limit must be an integer.")
	}
	return min(max(n, 1), 1000), nil
}

// page is one page of a keyset-paginated list with its neighbours' links.
type page[T any] struct {
	items      []T
	next, prev *string
	limit      int
}

// paginate reads the request's "from" (or "to", for going back) cursor, asks
// fetch for limit+1 items beyond it in the requested direction, and builds
// the links of the neighbouring pages from the keys of the edge items.
func paginate[T any](r *request, path string, limit int, desc bool, fetch func(cursor string, desc bool, limit int) ([]T, error), key func(T) string) (*page[T], error) {
	q := r.URL.Query()
	backward := false
	cursor := q.Get("from")
	if cursor == "" && q.Get("to") != "" {
		cursor, backward = q.Get("to"), true
	}
	if backward {
		desc = !desc
	}
	items, err := fetch(cursor, desc, limit+1)
	if err != nil {
		return nil, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if backward {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	pg := &page[T]{items: items, limit: limit}
	if len(items) > 0 && (more || backward) {
		s := pageLink(r, path, "from", key(items[len(items)-1]))
		pg.next = &s
	}
	if len(items) > 0 && (cursor != "" && !backward || backward && more) {
		s := pageLink(r, path, "to", key(items[0]))
		pg.prev = &s
	}
	return pg, nil
}

// pageLink is the URL of a neighbouring page: the request's query with the
// cursor replaced.
func pageLink(r *request, path, key, value string) string {
	q := r.URL.Query()
	q.Del("from")
	q.Del("to")
	q.Del("offset")
	q.Set(key, value)
	return r.bases.API + path + "?" + q.Encode()
}

func (h *Handler) listFiles(r *request) error {
	q := r.URL.Query()
	fq := satchel.FileQuery{ProjectID: r.project.ID}
	var err error
	if fq.Limit, err = pageLimit(q); err != nil {
		return err
	}
	if v := q.Get("removed"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return badRequest("removed must be true or false.")
		}
		fq.Removed = b
	}
	if v := q.Get("stored"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return badRequest("stored must be true or false.")
		}
		fq.Stored = &b
	}
	switch o := q.Get("ordering"); o {
	case "", "datetime_uploaded":
	case "-datetime_uploaded":
		fq.Desc = true
	case "size", "-size":
		if r.version == apiview.V07 {
			return badRequest("Unknown ordering: %s.", o)
		}
		fq.BySize, fq.Desc = true, o == "-size"
	default:
		return badRequest("Unknown ordering: %s.", o)
	}
	opts := fileOptions(r)
	// apiview copies a v0.7 file's stored JSON into the answer as it is,
	// and for earlier versions the image info out of the stored content
	// info (appdata, and the legacy video info, have shapes of their own:
	// decoded).
	fq.Undecoded = !opts.Appdata
	pg, err := paginate(r, "/files/", fq.Limit, fq.Desc, func(cursor string, desc bool, limit int) ([]*satchel.File, error) {
		q := fq
		q.Desc, q.Limit = desc, limit
		if cursor != "" {
			key, id, err := splitCursor(cursor, satchel.ValidUUID)
			if err != nil {
				return nil, err
			}
			if fq.BySize {
				n, err := strconv.ParseInt(key, 10, 64)
				if err != nil {
					return nil, badRequest("Bad from value: %s.", cursor)
				}
				q.FromSize = &n
			} else {
				t, ok := parseCursorTime(key)
				if !ok {
					return nil, badRequest("Bad from value: %s.", cursor)
				}
				q.FromTime = &t
			}
			q.FromUUID = id
		}
		return h.app.ListFiles(r.Context(), r.project, q)
	}, func(f *satchel.File) string {
		if fq.BySize {
			return cursorOf(strconv.FormatInt(f.Size, 10), f.UUID)
		}
		return cursorOf(cursorTime(f.Uploaded), f.UUID)
	})
	if err != nil {
		return err
	}
	files, next, prev, limit := pg.items, pg.next, pg.prev, pg.limit
	counts, err := h.app.Store.FileCounts(r.Context(), r.project.ID)
	if err != nil {
		return err
	}
	var total int64
	switch {
	case fq.Removed && fq.Stored != nil && *fq.Stored:
		total = 0
	case fq.Removed:
		total = counts.Removed
	case fq.Stored == nil:
		total = counts.Stored + counts.Unstored
	case *fq.Stored:
		total = counts.Stored
	default:
		total = counts.Unstored
	}
	return r.reply(http.StatusOK, apiview.Object(
		"next", next, "previous", prev, "total", total,
		"totals", map[string]int64{"removed": counts.Removed, "stored": counts.Stored, "unstored": counts.Unstored},
		"per_page", limit, "results", apiview.Files(files, r.version, r.bases, opts),
	))
}

// fileOptions reads include=appdata (0.7) and add_fields=rekognition_info (0.6).
func fileOptions(r *request) apiview.FileOptions {
	q := r.URL.Query()
	return apiview.FileOptions{
		Appdata:     r.version == apiview.V07 && strings.Contains(q.Get("include"), "appdata"),
		Rekognition: r.version == apiview.V06 && strings.Contains(q.Get("add_fields"), "rekognition_info"),
	}
}

func (h *Handler) file(r *request) (*satchel.File, error) {
	id := r.PathValue("uuid")
	if !satchel.ValidUUID(id) {
		return nil, notFound()
	}
	f, err := h.app.Store.File(r.Context(), r.project.ID, id)
	if satchel.IsNotFound(err) {
		return nil, notFound()
	}
	return f, err
}

func (h *Handler) fileInfo(r *request) error {
	f, err := h.file(r)
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, apiview.File(f, r.version, r.bases, fileOptions(r)))
}

func (h *Handler) storeFile(r *request) error {
	f, err := h.app.StoreFile(r.Context(), r.project, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, apiview.File(f, r.version, r.bases, apiview.FileOptions{}))
}

func (h *Handler) deleteFile(r *request) error {
	f, err := h.app.DeleteFile(r.Context(), r.project, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, apiview.File(f, r.version, r.bases, apiview.FileOptions{}))
}

func (h *Handler) batch(r *request, store bool) error {
	var ids []string
	if err := json.Unmarshal(r.body, &ids); err != nil {
		return badRequest("Expected list of UUIDs")
	}
	res, err := h.app.Batch(r.Context(), r.project, ids, store)
	if err != nil {
		return err
	}
	results := make([]json.RawMessage, len(res.Files))
	for i, f := range res.Files {
		results[i] = apiview.File(f, r.version, r.bases, apiview.FileOptions{})
	}
	return r.reply(http.StatusOK, apiview.Object("status", "ok", "problems", res.Problems, "result", results))
}

func (h *Handler) batchStore(r *request) error  { return h.batch(r, true) }
func (h *Handler) batchDelete(r *request) error { return h.batch(r, false) }

// flexBool accepts a JSON boolean or the strings "true"/"false"/"1"/"0".
type flexBool struct {
	set, v bool
	bad    bool
}

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		b.set, b.v = true, x
	case string:
		b.v, b.set = parseBool(x)
		b.bad = !b.set
	case nil:
	default:
		b.bad = true
	}
	return nil
}

func (h *Handler) localCopy(r *request) error {
	var body struct {
		Source   string            `json:"source"`
		Store    flexBool          `json:"store"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return badRequest("Expected JSON object.")
	}
	if body.Store.bad {
		return badRequest("`store` parameter should be `true` or `false`.")
	}
	var store *bool
	if body.Store.set {
		store = &body.Store.v
	}
	f, err := h.app.LocalCopy(r.Context(), r.project, body.Source, store, body.Metadata)
	if err != nil {
		return err
	}
	return r.reply(http.StatusCreated, apiview.Object("type", "file", "result", apiview.File(f, r.version, r.bases, apiview.FileOptions{})))
}

func (h *Handler) metadata(r *request) error {
	f, err := h.file(r)
	if err != nil {
		return err
	}
	md := f.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return r.reply(http.StatusOK, md)
}

func (h *Handler) metadataKey(r *request) error {
	f, err := h.file(r)
	if err != nil {
		return err
	}
	v, ok := f.Metadata[r.PathValue("key")]
	if !ok {
		return notFound()
	}
	return r.reply(http.StatusOK, v)
}

func (h *Handler) setMetadataKey(r *request) error {
	var v string
	if err := json.Unmarshal(r.body, &v); err != nil {
		return badRequest("Expected a JSON string.")
	}
	created, err := h.app.SetMetadata(r.Context(), r.project, r.PathValue("uuid"), r.PathValue("key"), v)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return r.reply(status, v)
}

func (h *Handler) deleteMetadataKey(r *request) error {
	if err := h.app.DeleteMetadata(r.Context(), r.project, r.PathValue("uuid"), r.PathValue("key")); err != nil {
		return err
	}
	return r.noContent()
}

func (h *Handler) tags(r *request) error {
	f, err := h.file(r)
	if err != nil {
		return err
	}
	tags := f.Tags
	if tags == nil {
		tags = []string{}
	}
	return r.reply(http.StatusOK, map[string][]string{"tags": tags})
}

func (h *Handler) replaceTags(r *request) error {
	var body struct {
		Tags *[]string `json:"tags"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Tags == nil {
		return badRequest("Expected {\"tags\": [...]}.")
	}
	ch, err := h.app.ChangeTags(r.Context(), r.project, r.PathValue("uuid"), append([]string{}, (*body.Tags)...), nil, nil)
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, apiview.Object("tags", ch.Tags, "added", ch.Added, "deleted", ch.Deleted))
}

func (h *Handler) patchTags(r *request) error {
	var body struct {
		Add    []string `json:"add"`
		Delete []string `json:"delete"`
	}
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &body); err != nil {
			return badRequest("Expected {\"add\": [...], \"delete\": [...]}.")
		}
	}
	ch, err := h.app.ChangeTags(r.Context(), r.project, r.PathValue("uuid"), nil, body.Add, body.Delete)
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, apiview.Object("tags", ch.Tags, "added", ch.Added, "deleted", ch.Deleted))
}

func (h *Handler) remoteCopy(r *request) error {
	var body struct {
		Source     string   `json:"source"`
		Target     string   `json:"target"`
		Pattern    string   `json:"pattern"`
		MakePublic flexBool `json:"make_public"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return badRequest("Expected JSON object.")
	}
	if body.MakePublic.bad {
		return badRequest("`make_public` parameter should be `true` or `false`.")
	}
	result, created, err := h.app.RemoteCopy(r.Context(), r.project, body.Source, body.Target, body.Pattern)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return r.reply(status, apiview.Object("type", "url", "result", result))
}
