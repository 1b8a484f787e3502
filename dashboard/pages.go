package dashboard

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/ucare/akamai"
)

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"bytes": humanBytes,
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			return ""
		},
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pp":   func(p *satchel.Project, rest string) string { return projectPath(p.ID, rest) },
		"join": strings.Join,
		"thumb": func(p *satchel.Project, f *satchel.File, size string) string {
			return h.cdnURL(p, f.UUID, "-/preview/"+size+"/")
		},
		"cdnurl": func(p *satchel.Project, f *satchel.File) string { return h.cdnURL(p, f.UUID, "") },
		"kind":   fileKind,
	}
}

// cdnURL is the CDN address of a file with operations (ops ends with "/"),
// with a delivery token when the project requires one.
func (h *Handler) cdnURL(p *satchel.Project, id, ops string) string {
	path := "/" + id + "/" + ops
	u := h.cdn + path
	if p != nil && p.SecureDeliverySecret != "" {
		// Tokens last an hour past the hour, so pages cache-friendly URLs.
		exp := time.Now().Truncate(time.Hour).Add(2 * time.Hour).Unix()
		if tok, err := akamai.URLToken(p.SecureDeliverySecret, path, exp); err == nil {
			u += "?token=" + url.QueryEscape(tok)
		}
	}
	return u
}

// fileKind is the coarse type of a file for filters and badges.
func fileKind(f *satchel.File) string {
	major, _, _ := strings.Cut(f.MimeType, "/")
	switch {
	case f.IsImage || major == "image":
		return "image"
	case major == "video", major == "audio", major == "text":
		return major
	case f.MimeType == "application/pdf":
		return "document"
	}
	return "other"
}

type overviewData struct {
	Usage    *app.Usage
	Webhooks int
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, rq *request) {
	u, err := h.app.ProjectUsage(r.Context(), rq.project)
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	hooks, err := h.app.Webhooks(r.Context(), rq.project)
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", h.newView(rq, rq.project.Name, "overview", overviewData{Usage: u, Webhooks: len(hooks)}))
}

// File browser.

const (
	filesPerPage = 48
	// maxScan bounds the files one page looks through when filters apply
	// that the store's listing does not (type, name, date range).
	maxScan = 2000
)

type fileFilter struct {
	State string // "" (live), "stored", "temporary", "removed"
	Kind  string // "" or a fileKind
	Name  string
	From  string // YYYY-MM-DD
	To    string
	Order string // "new" (default) or "old"
}

func (f fileFilter) query() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("state", f.State)
	set("kind", f.Kind)
	set("q", f.Name)
	set("from", f.From)
	set("to", f.To)
	if f.Order == "old" {
		v.Set("order", "old")
	}
	return v
}

type filesData struct {
	Filter  fileFilter
	Files   []*satchel.File
	Next    string
	First   string
	Paged   bool
	Scanned int
	Limited bool
	Kinds   []string
}

func parseDay(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}

func (h *Handler) files(w http.ResponseWriter, r *http.Request, rq *request) {
	qv := r.URL.Query()
	f := fileFilter{State: qv.Get("state"), Kind: qv.Get("kind"), Name: strings.TrimSpace(qv.Get("q")), From: qv.Get("from"), To: qv.Get("to"), Order: qv.Get("order")}
	q := satchel.FileQuery{ProjectID: rq.project.ID, Desc: f.Order != "old", Limit: 100}
	switch f.State {
	case "stored":
		t := true
		q.Stored = &t
	case "temporary":
		fl := false
		q.Stored = &fl
	case "removed":
		q.Removed = true
	default:
		f.State = ""
	}
	from, hasFrom := parseDay(f.From)
	to, hasTo := parseDay(f.To)
	if !hasFrom {
		f.From = ""
	}
	if !hasTo {
		f.To = ""
	}
	end := to.Add(24 * time.Hour)
	// The date range sets where the keyset listing starts; it stops at the
	// other end.
	if q.Desc && hasTo {
		q.FromTime = &end
	}
	if !q.Desc && hasFrom {
		start := from.Add(-time.Microsecond)
		q.FromTime = &start
	}
	cursor := qv.Get("after")
	if cursor != "" {
		ts, id, ok := strings.Cut(cursor, "_")
		us, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || !satchel.ValidUUID(id) {
			h.fail(w, r, rq, satchel.Errorf(satchel.KindInvalid, satchel.ReasonFormInvalid, "The page link is not valid."))
			return
		}
		t := time.UnixMicro(us).UTC()
		q.FromTime, q.FromUUID = &t, id
	}
	name := strings.ToLower(f.Name)
	data := filesData{Filter: f, Files: []*satchel.File{}, Paged: cursor != "", Kinds: []string{"image", "video", "audio", "text", "document", "other"}}
	var last *satchel.File
	done := false
scan:
	for data.Scanned < maxScan {
		batch, err := h.app.ListFiles(r.Context(), rq.project, q)
		if err != nil {
			h.fail(w, r, rq, err)
			return
		}
		for _, file := range batch {
			if (q.Desc && hasFrom && file.Uploaded.Before(from)) || (!q.Desc && hasTo && !file.Uploaded.Before(end)) {
				done = true
				break scan
			}
			data.Scanned++
			last = file
			if (f.Kind == "" || fileKind(file) == f.Kind) && (name == "" || strings.Contains(strings.ToLower(file.OriginalFilename), name)) {
				data.Files = append(data.Files, file)
				if len(data.Files) == filesPerPage {
					break scan
				}
			}
		}
		if len(batch) < q.Limit {
			done = true
			break
		}
		t := last.Uploaded
		q.FromTime, q.FromUUID = &t, last.UUID
	}
	base := projectPath(rq.project.ID, "/files")
	fq := f.query()
	data.First = base + "?" + fq.Encode()
	if !done && last != nil {
		data.Limited = len(data.Files) < filesPerPage
		fq.Set("after", strconv.FormatInt(last.Uploaded.UnixMicro(), 10)+"_"+last.UUID)
		data.Next = base + "?" + fq.Encode()
	}
	v := h.newView(rq, "Files", "files", data)
	v.Notice = notice(r)
	h.render(w, r, http.StatusOK, "files", v)
}

type fileData struct {
	File   *satchel.File
	URL    string
	Ops    string
	OpsURL string
	Tags   string
	Groups []string
}

// normOps turns what a person types ("resize/200x", "-/resize/200x/") into
// the operations part of a CDN URL ("-/resize/200x/").
func normOps(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "/")
	s = strings.TrimPrefix(s, "-/")
	if s == "" || s == "-" {
		return ""
	}
	return "-/" + s + "/"
}

func (h *Handler) loadFile(w http.ResponseWriter, r *http.Request, rq *request) *satchel.File {
	id := r.PathValue("uuid")
	if !satchel.ValidUUID(id) {
		h.fail(w, r, rq, satchel.Errorf(satchel.KindNotFound, satchel.ReasonPageNotFound, "No such file."))
		return nil
	}
	f, err := h.app.Store.File(r.Context(), rq.project.ID, id)
	if err != nil {
		h.fail(w, r, rq, notFoundOr(err, "No such file."))
		return nil
	}
	return f
}

func (h *Handler) file(w http.ResponseWriter, r *http.Request, rq *request) {
	f := h.loadFile(w, r, rq)
	if f == nil {
		return
	}
	ops := normOps(r.URL.Query().Get("ops"))
	d := fileData{File: f, URL: h.cdnURL(rq.project, f.UUID, ""), Ops: ops, Tags: strings.Join(f.Tags, ", ")}
	d.OpsURL = h.cdnURL(rq.project, f.UUID, ops)
	v := h.newView(rq, f.OriginalFilename, "files", d)
	v.Notice = notice(r)
	h.render(w, r, http.StatusOK, "file", v)
}

func (h *Handler) filePath(rq *request, id string) string {
	return projectPath(rq.project.ID, "/files/"+id)
}

func (h *Handler) storeFile(w http.ResponseWriter, r *http.Request, rq *request) {
	if _, err := h.app.StoreFile(r.Context(), rq.project, r.PathValue("uuid")); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, h.filePath(rq, r.PathValue("uuid")), "stored")
}

func (h *Handler) deleteFile(w http.ResponseWriter, r *http.Request, rq *request) {
	if _, err := h.app.DeleteFile(r.Context(), rq.project, r.PathValue("uuid")); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, h.filePath(rq, r.PathValue("uuid")), "deleted")
}

func (h *Handler) setMetadata(w http.ResponseWriter, r *http.Request, rq *request) {
	key := strings.TrimSpace(r.PostForm.Get("key"))
	if _, err := h.app.SetMetadata(r.Context(), rq.project, r.PathValue("uuid"), key, r.PostForm.Get("value")); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, h.filePath(rq, r.PathValue("uuid")), "metadata")
}

func (h *Handler) deleteMetadata(w http.ResponseWriter, r *http.Request, rq *request) {
	if err := h.app.DeleteMetadata(r.Context(), rq.project, r.PathValue("uuid"), r.PostForm.Get("key")); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, h.filePath(rq, r.PathValue("uuid")), "metadatadel")
}

func (h *Handler) setTags(w http.ResponseWriter, r *http.Request, rq *request) {
	if _, err := h.app.ChangeTags(r.Context(), rq.project, r.PathValue("uuid"), []string{r.PostForm.Get("tags")}, nil, nil); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, h.filePath(rq, r.PathValue("uuid")), "tags")
}

// Groups.

const groupsPerPage = 50

type groupsData struct {
	Groups []*satchel.Group
	Next   string
	Paged  bool
}

func (h *Handler) groups(w http.ResponseWriter, r *http.Request, rq *request) {
	q := satchel.GroupQuery{ProjectID: rq.project.ID, Desc: true, Limit: groupsPerPage + 1}
	cursor := r.URL.Query().Get("after")
	if cursor != "" {
		ts, id, ok := strings.Cut(cursor, "_")
		us, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || !satchel.ValidGroupID(id) {
			h.fail(w, r, rq, satchel.Errorf(satchel.KindInvalid, satchel.ReasonFormInvalid, "The page link is not valid."))
			return
		}
		t := time.UnixMicro(us).UTC()
		q.FromTime, q.FromID = &t, id
	}
	gs, err := h.app.Store.ListGroups(r.Context(), q)
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	d := groupsData{Groups: gs, Paged: cursor != ""}
	if len(gs) > groupsPerPage {
		d.Groups = gs[:groupsPerPage]
		last := d.Groups[groupsPerPage-1]
		d.Next = projectPath(rq.project.ID, "/groups?after="+url.QueryEscape(strconv.FormatInt(last.Created.UnixMicro(), 10)+"_"+last.ID))
	}
	v := h.newView(rq, "Groups", "groups", d)
	v.Notice = notice(r)
	h.render(w, r, http.StatusOK, "groups", v)
}

type groupData struct {
	Group   *satchel.Group
	Members []groupMember
	URL     string
}

type groupMember struct {
	N    int
	UUID string
	Ops  string
	File *satchel.File
}

func (h *Handler) group(w http.ResponseWriter, r *http.Request, rq *request) {
	g, files, err := h.app.GroupInfo(r.Context(), rq.project, r.PathValue("gid"))
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	d := groupData{Group: g, URL: h.cdn + "/" + g.ID + "/"}
	for i, m := range g.Members {
		d.Members = append(d.Members, groupMember{N: i, UUID: m.FileUUID, Ops: m.DefaultEffects, File: files[i]})
	}
	h.render(w, r, http.StatusOK, "group", h.newView(rq, "Group "+g.ID, "groups", d))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, rq *request) {
	if err := h.app.DeleteGroup(r.Context(), rq.project, r.PathValue("gid")); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, projectPath(rq.project.ID, "/groups"), "group")
}

// Webhooks.

type webhooksData struct {
	Webhooks   []*satchel.Webhook
	Deliveries []*satchel.Delivery
	Targets    map[int64]string
	Events     []string
}

func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request, rq *request) {
	hooks, err := h.app.Webhooks(r.Context(), rq.project)
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	ds, err := h.app.Deliveries(r.Context(), rq.project, 100)
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	d := webhooksData{Webhooks: hooks, Deliveries: ds, Targets: map[int64]string{}, Events: satchel.WebhookEvents}
	for _, hk := range hooks {
		d.Targets[hk.ID] = hk.Event + " → " + hk.TargetURL
	}
	v := h.newView(rq, "Webhooks", "webhooks", d)
	v.Notice = notice(r)
	h.render(w, r, http.StatusOK, "webhooks", v)
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, rq *request) {
	target, event, secret, version := strings.TrimSpace(r.PostForm.Get("target_url")), r.PostForm.Get("event"), r.PostForm.Get("signing_secret"), r.PostForm.Get("version")
	active := formBool(r, "is_active")
	in := app.WebhookInput{TargetURL: &target, Event: &event, IsActive: &active, Version: &version}
	if secret != "" {
		in.SigningSecret = &secret
	}
	if _, err := h.app.CreateWebhook(r.Context(), rq.project, in, "0.7"); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, projectPath(rq.project.ID, "/webhooks"), "webhook")
}

func webhookID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("wid"), 10, 64)
	return id, err == nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := webhookID(w, r)
	if !ok {
		h.fail(w, r, rq, satchel.Errorf(satchel.KindNotFound, satchel.ReasonPageNotFound, "No such webhook."))
		return
	}
	active := formBool(r, "is_active")
	if _, err := h.app.UpdateWebhook(r.Context(), rq.project, id, app.WebhookInput{IsActive: &active}); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, projectPath(rq.project.ID, "/webhooks"), "webhook")
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := webhookID(w, r)
	if !ok {
		h.fail(w, r, rq, satchel.Errorf(satchel.KindNotFound, satchel.ReasonPageNotFound, "No such webhook."))
		return
	}
	if err := h.app.DeleteWebhook(r.Context(), rq.project, id); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, projectPath(rq.project.ID, "/webhooks"), "unsub")
}

func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, rq *request) {
	if _, err := h.app.Redeliver(r.Context(), rq.project, r.PathValue("did")); err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, projectPath(rq.project.ID, "/webhooks"), "redeliver")
}

// Settings and keys.

type settingsData struct {
	AllowedTypes string
	ServerMax    int64
	NewKeys      bool
}

func (h *Handler) settingsView(rq *request, p *satchel.Project) *view {
	d := settingsData{AllowedTypes: strings.Join(p.AllowedTypes, ", "), ServerMax: h.app.Config().MaxFileSize}
	return h.newView(rq, "Settings", "settings", &d)
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request, rq *request) {
	v := h.settingsView(rq, rq.project)
	v.Notice = notice(r)
	h.render(w, r, http.StatusOK, "settings", v)
}

func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request, rq *request) {
	var max int64
	if s := strings.TrimSpace(r.PostForm.Get("max_file_size")); s != "" {
		var err error
		if max, err = strconv.ParseInt(s, 10, 64); err != nil {
			h.fail(w, r, rq, satchel.Errorf(satchel.KindInvalid, satchel.ReasonFormInvalid, "The largest file size must be a number of bytes."))
			return
		}
	}
	_, err := h.app.UpdateProjectSettings(r.Context(), rq.project, app.ProjectSettings{
		Name: r.PostForm.Get("name"), Autostore: formBool(r, "autostore"), SignedUploads: formBool(r, "signed_uploads"),
		MaxFileSize: max, AllowedTypes: splitList(r.PostForm.Get("allowed_types")),
	})
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	back(w, r, projectPath(rq.project.ID, "/settings"), "settings")
}

// rotateKeys gives the project new keys and shows them once. A project
// session continues with the new secret.
func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request, rq *request) {
	p, err := h.app.RotateKeys(r.Context(), rq.project, r.PostForm.Get("which") == "both")
	if err != nil {
		h.fail(w, r, rq, err)
		return
	}
	if rq.session.Kind == "project" {
		s := &session{Kind: "project", Project: p.ID, Fingerprint: projectFingerprint(rq.key, p)}
		h.startSession(w, r, rq.key, s)
		rq.session, rq.csrf = s, csrfToken(rq.key, s)
	}
	rq.project = p
	v := h.settingsView(rq, p)
	v.Data.(*settingsData).NewKeys = true
	v.Notice = "New keys issued. Copy the secret key now: it is not shown again."
	h.render(w, r, http.StatusOK, "settings", v)
}
