package uploadapi

import (
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
)

// direct handles POST /base/: one or more files streamed into temporary blobs,
// then authorised, committed and recorded together.
//
// Each file holds an upload slot of the node while it is received (see
// app.Receive). When the public key comes before the first file, the
// project is resolved first and the file holds one of its slots too;
// otherwise the project is known only once the body is in.
func (h *Handler) direct(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxDirectUpload+1<<20)
	const keyField = "UPLOADCARE_PUB_KEY"
	var (
		ins []*app.Incoming
		p   *satchel.Project
	)
	f, err := h.readForm(r, func(sofar form, field, filename, ctype string, body io.Reader) error {
		if len(ins) >= 100 {
			return satchel.Errorf(satchel.KindTooLarge, reasonTooManyFiles, "The request contains too many files.")
		}
		// The answer maps field names to files: each name must be unique.
		for _, in := range ins {
			if in.Field == field {
				return satchel.Errorf(satchel.KindInvalid, reasonFileFieldDuplicated, "File field %q is sent more than once: give each file a field name of its own.", field)
			}
		}
		if p == nil && sofar.Get(keyField) != "" {
			var err error
			if p, err = h.app.ProjectByKey(r.Context(), sofar.Get(keyField), keyField); err != nil {
				return err
			}
		}
		in, err := h.app.Receive(r.Context(), p, field, filename, ctype, body, h.cfg.MaxDirectUpload)
		if err != nil {
			return err
		}
		ins = append(ins, in)
		return nil
	})
	abort := func() {
		for _, in := range ins {
			in.Abort()
		}
	}
	if err != nil {
		abort()
		h.refuse(w, r, err)
		return
	}
	if p == nil {
		p, err = h.authorize(r, f, keyField)
	} else {
		err = h.app.CheckSignature(p, f.Get("signature"), f.Get("expire"))
	}
	if err != nil {
		abort()
		h.writeError(w, r, err)
		return
	}
	opts, err := f.options("UPLOADCARE_STORE")
	if err != nil {
		abort()
		h.writeError(w, r, err)
		return
	}
	if len(ins) == 0 {
		h.writeError(w, r, satchel.Errorf(satchel.KindInvalid, reasonFilesRequired, "Request does not contain files."))
		return
	}
	if opts.Source == "" {
		opts.Source = "local"
	}
	files, err := h.app.Commit(r.Context(), p, opts, ins)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make(map[string]string, len(files))
	for i, f := range files {
		out[ins[i].Field] = f.UUID
	}
	writeJSON(w, out)
}

// refuse answers err to a request whose body was not read to the end: the
// connection closes after the answer, so a client still sending learns of
// the refusal at once instead of the server reading on.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Connection", "close")
	h.writeError(w, r, err)
}

// busy reports whether err refuses an upload for capacity (before its body
// was read).
func busy(err error) bool {
	if err == nil {
		return false
	}
	r := satchel.AsError(err).Reason
	return r == satchel.ReasonServerBusy || r == satchel.ReasonProjectBusy
}

// smallForm reads a body of form fields (no files) and authorises it,
// answering the error itself when it fails.
func (h *Handler) smallForm(w http.ResponseWriter, r *http.Request, keyField string) (form, *satchel.Project, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
	f, err := h.readForm(r, nil)
	if err == nil {
		var p *satchel.Project
		if p, err = h.authorize(r, f, keyField); err == nil {
			return f, p, true
		}
	}
	h.writeError(w, r, err)
	return f, nil, false
}

// authorize resolves the project and checks the signature fields.
func (h *Handler) authorize(r *http.Request, f form, keyField string) (*satchel.Project, error) {
	p, err := h.app.ProjectByKey(r.Context(), f.Get(keyField), keyField)
	if err != nil {
		return nil, err
	}
	if err := h.app.CheckSignature(p, f.Get("signature"), f.Get("expire")); err != nil {
		return nil, err
	}
	return p, nil
}

func (h *Handler) multipartStart(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.smallForm(w, r, "UPLOADCARE_PUB_KEY")
	if !ok {
		return
	}
	filename := f.Get("filename")
	if filename == "" {
		h.writeError(w, r, paramRequired("filename"))
		return
	}
	if f.Get("size") == "" {
		h.writeError(w, r, paramRequired("size"))
		return
	}
	size, err := strconv.ParseInt(f.Get("size"), 10, 64)
	if err != nil || size < 0 {
		h.writeError(w, r, satchel.Errorf(satchel.KindInvalid, reasonSizeInvalid, "size should be integer."))
		return
	}
	var partSize int64
	if v := f.Get("part_size"); v != "" {
		partSize, err = strconv.ParseInt(v, 10, 64)
		if err != nil || partSize <= 0 {
			h.writeError(w, r, satchel.Errorf(satchel.KindInvalid, reasonPartSizeInvalid, "part_size should be integer."))
			return
		}
	}
	ctype := f.Get("content_type")
	if ctype == "" {
		h.writeError(w, r, paramRequired("content_type"))
		return
	}
	opts, err := f.options("UPLOADCARE_STORE")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if opts.Source == "" {
		opts.Source = "local"
	}
	s, err := h.app.StartMultipart(r.Context(), p, opts, filename, ctype, size, partSize)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"uuid": s.UUID, "parts": h.app.PartURLs(h.publicBase(r), s)})
}

func (h *Handler) multipartPart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := h.app.PutPart(r.Context(), app.PartRequest{
		UUID: r.PathValue("uuid"), PartNumber: q.Get("partNumber"), Expires: q.Get("expires"),
		Signature: q.Get("signature"), ContentLength: r.ContentLength,
	}, r.Body)
	if busy(err) {
		h.refuse(w, r, err)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	cors(w, corsMethods)
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) multipartComplete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	f, err := h.readForm(r, nil)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.app.ProjectByKey(r.Context(), f.Get("UPLOADCARE_PUB_KEY"), "UPLOADCARE_PUB_KEY")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	file, err := h.app.CompleteMultipart(r.Context(), p, f.Get("uuid"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, renderFile(file))
}

func (h *Handler) fromURL(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		// The GET route also matches HEAD; a probe must not start a fetch.
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	f, p, ok := h.smallForm(w, r, "pub_key")
	if !ok {
		return
	}
	opts, err := f.options("store")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	check := f.Get("check_URL_duplicates") == "1"
	save := check
	if v := f.Get("save_URL_duplicates"); v != "" {
		save = v == "1"
	}
	task, file, err := h.app.FromURL(r.Context(), p, opts, f.Get("source_url"), f.Get("filename"), check, save)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if file != nil {
		writeJSON(w, struct {
			Type string `json:"type"`
			*FileInfo
		}{"file_info", renderFile(file)})
		return
	}
	writeJSON(w, map[string]string{"type": "token", "token": task.Token})
}

// statusBody is a /from_url/status/ answer; done and total are always numbers
// (total null while unknown).
type statusBody struct {
	Status    string `json:"status"`
	Done      int64  `json:"done"`
	Total     *int64 `json:"total"`
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	*FileInfo
}

func (h *Handler) fromURLStatus(w http.ResponseWriter, r *http.Request) {
	t, file, err := h.app.FetchStatus(r.Context(), r.URL.Query().Get("token"))
	if satchel.IsNotFound(err) {
		zero := int64(0)
		writeJSON(w, statusBody{Status: "unknown", Total: &zero})
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	b := statusBody{Status: t.Status, Done: t.Done}
	if t.Total >= 0 {
		b.Total = &t.Total
	}
	switch t.Status {
	case satchel.FetchSuccess:
		b.FileInfo = renderFile(file)
		b.Done, b.Total = file.Size, &file.Size
	case satchel.FetchError:
		b.Error, b.ErrorCode = t.ErrorText, t.ErrorCode
	case satchel.FetchProgress:
		if b.Total == nil && b.Done == 0 {
			// Connecting to the source: nothing to measure yet. "progress"
			// with no total would make the JS client report done/null (NaN)
			// as computable progress, and the Go client cannot read the
			// string "unknown" the JS client knows.
			b.Status = satchel.FetchWaiting
			zero := int64(0)
			b.Total = &zero
		}
	case satchel.FetchWaiting:
		zero := int64(0)
		b.Total = &zero
	}
	writeJSON(w, b)
}

func (h *Handler) info(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := h.app.ProjectByKey(r.Context(), q.Get("pub_key"), "pub_key")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	f, err := h.app.FileInfo(r.Context(), p, q.Get("file_id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, renderFile(f))
}

// groupMembers reads files[N] (in index order) or files[] (in order).
func groupMembers(f form) ([]string, error) {
	if vs := f.Values["files[]"]; len(vs) > 0 {
		return vs, nil
	}
	type indexed struct {
		i int
		v string
	}
	var list []indexed
	for k, vs := range f.Values {
		if !strings.HasPrefix(k, "files[") || !strings.HasSuffix(k, "]") {
			continue
		}
		i, err := strconv.Atoi(k[len("files[") : len(k)-1])
		if err != nil || i < 0 {
			return nil, app.ErrNoGroupFiles()
		}
		list = append(list, indexed{i, vs[0]})
	}
	sort.Slice(list, func(a, b int) bool { return list[a].i < list[b].i })
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.v
	}
	return out, nil
}

func (h *Handler) groupCreate(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.smallForm(w, r, "pub_key")
	if !ok {
		return
	}
	members, err := groupMembers(f)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	g, files, err := h.app.CreateGroup(r.Context(), p, members)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, renderGroup(g, files, h.publicBase(r), h.publicBase(r)))
}

func (h *Handler) groupInfo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := h.app.ProjectByKey(r.Context(), q.Get("pub_key"), "pub_key")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	g, files, err := h.app.GroupInfo(r.Context(), p, q.Get("group_id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, renderGroup(g, files, h.publicBase(r), h.publicBase(r)))
}
