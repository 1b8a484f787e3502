package jsonapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
)

// fileState is what the dialect keeps of a file resource besides its
// target: how the file arrives, and what a pending file shows until it
// exists.
type fileState struct {
	FetchToken string `json:"fetch_token,omitempty"`
	FetchError string `json:"fetch_error,omitempty"`
	// FailedAt is when the fetch was known to have failed.
	FailedAt  *time.Time        `json:"failed_at,omitempty"`
	Chunked   bool              `json:"chunked,omitempty"`
	ChunkSize int64             `json:"chunk_size,omitempty"`
	Complete  bool              `json:"complete,omitempty"`
	Name      string            `json:"name,omitempty"`
	Size      int64             `json:"size,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Expires   *time.Time        `json:"expires,omitempty"`
	Protected bool              `json:"protected"`
	// Anonymous is set on files created without credentials: a chunked
	// upload is held to the project's anonymous types once complete.
	Anonymous bool `json:"anonymous,omitempty"`
}

// fileView is a file resource with its file, once the file exists.
type fileView struct {
	res *satchel.Resource
	st  fileState
	f   *satchel.File
}

// loadFile resolves a file resource: a finished URL fetch gives it its
// file, a completed chunked upload its completion.
func (h *Handler) loadFile(ctx context.Context, p *satchel.Project, res *satchel.Resource) (*fileView, error) {
	v := &fileView{res: res}
	if err := json.Unmarshal([]byte(res.State), &v.st); err != nil {
		return nil, fmt.Errorf("jsonapi: file %s state: %w", res.ID, err)
	}
	changed, err := h.settleFetch(ctx, v, time.Now())
	if err != nil {
		return nil, err
	}
	if res.Target != "" {
		f, err := h.app.Store.File(ctx, p.ID, res.Target)
		if err != nil && !satchel.IsNotFound(err) {
			return nil, fmt.Errorf("jsonapi: file: %w", err)
		}
		if err == nil {
			v.f = f
			if v.st.Chunked && !v.st.Complete {
				// Completed meanwhile (through the Upload API, say).
				v.st.Complete, changed = true, true
				if err := h.checkAnonymousType(ctx, p, v); err != nil && satchel.AsError(err).Reason != satchel.ReasonFileTypeForbidden {
					return nil, err
				}
			}
		}
	}
	if changed {
		if err := h.saveFile(ctx, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// checkAnonymousType removes the file a chunked anonymous upload completed
// with when its type is not one the project accepts from anonymous callers
// (the session knew only the declared type), and says so.
func (h *Handler) checkAnonymousType(ctx context.Context, p *satchel.Project, v *fileView) error {
	if !v.st.Anonymous || v.f == nil || v.f.Removed != nil || app.TypeAllowed(p, true, v.f.MimeType) {
		return nil
	}
	f, err := h.app.DeleteFile(ctx, p, v.f.UUID)
	if err != nil && !satchel.IsNotFound(err) {
		return err
	}
	if f != nil {
		v.f = f
	}
	return satchel.Errorf(satchel.KindForbidden, satchel.ReasonFileTypeForbidden, "Uploading of these file types is not allowed.")
}

// errFetchForgotten is the reason of a URL fetch whose task was forgotten
// before its result was taken (see SettleFetches, which takes it first).
const errFetchForgotten = "The URL fetch is no longer known: its result expired before it was collected."

// settleFetch takes the result of a pending URL fetch: its file, or its
// failure, a task that no longer exists being one. It reports whether the
// view changed. The task is read directly: looking at a list of pending
// files must not spend the project's rate limit once per file.
func (h *Handler) settleFetch(ctx context.Context, v *fileView, now time.Time) (bool, error) {
	if v.res.Target != "" || v.st.FetchToken == "" || v.st.FetchError != "" {
		return false, nil
	}
	t, err := h.app.Store.FetchTask(ctx, v.st.FetchToken)
	switch {
	case satchel.IsNotFound(err):
		v.st.FetchError = errFetchForgotten
	case err != nil:
		return false, fmt.Errorf("jsonapi: fetch task: %w", err)
	case t.Status == satchel.FetchSuccess && t.FileUUID != "":
		v.res.Target = t.FileUUID
		return true, nil
	case t.Status == satchel.FetchError:
		v.st.FetchError = t.ErrorText
		if v.st.FetchError == "" {
			v.st.FetchError = "The file could not be fetched."
		}
	default:
		return false, nil
	}
	failed := now.UTC()
	v.st.FailedAt = &failed
	return true, nil
}

// SettleFetches settles every file waiting on a URL fetch, in every
// project, before finished tasks are forgotten: a fetched file gets its
// file, a failed one its reason (status failed), whether anyone looked or
// not. A failed file is removed ttl after it failed, like the task, and
// then answers 404. The lifecycle sweep runs it (see app.App.SettleFetches).
func (h *Handler) SettleFetches(ctx context.Context, now time.Time, ttl time.Duration) error {
	after := ""
	for {
		rs, err := h.app.Store.ListUntargeted(ctx, satchel.ResourceFile, after, 500)
		if err != nil {
			return err
		}
		for _, res := range rs {
			after = res.ID
			v := &fileView{res: res}
			if err := json.Unmarshal([]byte(res.State), &v.st); err != nil {
				h.log.Warn("jsonapi: settle: bad state", "id", res.ID, "err", err)
				continue
			}
			changed, err := h.settleFetch(ctx, v, now)
			if err != nil {
				return err
			}
			if v.st.FetchError != "" && v.st.FailedAt == nil {
				// Failed before failures were dated.
				failed := now.UTC()
				v.st.FailedAt, changed = &failed, true
			}
			if v.st.FailedAt != nil && !now.Before(v.st.FailedAt.Add(ttl)) {
				gone := now.UTC()
				v.res.Removed, changed = &gone, true
			}
			if changed {
				if err := h.saveFile(ctx, v); err != nil {
					return err
				}
			}
		}
		if len(rs) < 500 {
			return nil
		}
	}
}

func (h *Handler) saveFile(ctx context.Context, v *fileView) error {
	v.res.State = mustState(v.st)
	if err := h.app.Store.UpdateResource(ctx, v.res); err != nil {
		return fmt.Errorf("jsonapi: save file: %w", err)
	}
	return nil
}

// Timestamps as the dialect writes them.
const (
	msLayout = "2006-01-02T15:04:05.000Z"
	usLayout = "2006-01-02T15:04:05.000000Z"
)

func stamp(t *time.Time, layout string) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(layout)
	return &s
}

type fileAttributes struct {
	UUID              *string           `json:"uuid"`
	IsImage           *bool             `json:"is_image"`
	Status            string            `json:"status"`
	Mime              *satchel.MimeInfo `json:"mime"`
	OriginalURL       *string           `json:"original_url"`
	OriginalName      *string           `json:"original_name"`
	Size              *int64            `json:"size"`
	OriginalProtected bool              `json:"original_protected"`
	ChunkedUpload     chunkedAttributes `json:"chunked_upload"`
	Metadata          map[string]string `json:"metadata"`
	Content           contentAttributes `json:"content"`
	CreatedAt         string            `json:"created_at"`
	UploadedAt        *string           `json:"uploaded_at"`
	RemovedAt         *string           `json:"removed_at"`
	ExpiresAt         *string           `json:"expires_at"`
	// Error says why a file is failed (Satchel's own attribute).
	Error *string `json:"error,omitempty"`
}

type chunkedAttributes struct {
	IsChunkedUpload bool   `json:"is_chunked_upload"`
	ChunkSize       *int64 `json:"chunk_size"`
	IsComplete      bool   `json:"is_complete"`
}

type contentAttributes struct {
	Image *satchel.ImageInfo `json:"image"`
	Video *satchel.VideoInfo `json:"video"`
}

type relationships struct {
	Project struct {
		Data struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
	} `json:"project"`
}

func projectRelationship(p *satchel.Project) relationships {
	var rel relationships
	rel.Project.Data.Type, rel.Project.Data.ID = "projects", p.PublicKey
	return rel
}

type authentication struct {
	// AccessToken is shown when the resource is created and to a caller
	// presenting it; only its hash is kept, so it is null otherwise.
	AccessToken *string `json:"access_token"`
}

type fileDoc struct {
	Type              string         `json:"type"`
	ID                string         `json:"id"`
	Attributes        fileAttributes `json:"attributes"`
	Relationships     relationships  `json:"relationships"`
	Authentication    authentication `json:"authentication"`
	ChunkedUploadURLs []string       `json:"chunked_upload_urls"`
}

// tokenFor is the access token a response may show: the new one, or the
// one the caller presented for this very resource.
func tokenFor(c *caller, res *satchel.Resource, fresh string) *string {
	if fresh != "" {
		return &fresh
	}
	if c.res != nil && c.res.ID == res.ID {
		t := c.token
		return &t
	}
	return nil
}

func (h *Handler) fileDoc(r *http.Request, c *caller, v *fileView, token *string, urls []string) fileDoc {
	d := fileDoc{Type: "files", ID: v.res.ID, Relationships: projectRelationship(c.p), Authentication: authentication{AccessToken: token}, ChunkedUploadURLs: urls}
	if d.ChunkedUploadURLs == nil {
		d.ChunkedUploadURLs = []string{}
	}
	a := &d.Attributes
	a.CreatedAt = v.res.Created.UTC().Format(msLayout)
	a.ChunkedUpload.IsChunkedUpload = v.st.Chunked
	a.ChunkedUpload.IsComplete = v.st.Complete
	if v.st.Chunked {
		cs := v.st.ChunkSize
		a.ChunkedUpload.ChunkSize = &cs
	}
	a.RemovedAt = stamp(v.res.Removed, msLayout)
	f := v.f
	if f == nil {
		a.Status = "pending"
		if v.st.FetchError != "" {
			a.Status = "failed"
			a.Error = &v.st.FetchError
		}
		if v.res.Target != "" {
			a.UUID = &v.res.Target
		}
		if v.st.Name != "" {
			a.OriginalName = &v.st.Name
		}
		if v.st.Size > 0 {
			a.Size = &v.st.Size
		}
		a.Metadata = v.st.Metadata
		a.OriginalProtected = v.st.Protected
		a.ExpiresAt = stamp(v.st.Expires, msLayout)
		if a.Metadata == nil {
			a.Metadata = map[string]string{}
		}
		return d
	}
	a.Status = "ready"
	if !f.IsReady {
		a.Status = "pending"
	}
	a.UUID = &f.UUID
	a.IsImage = &f.IsImage
	if f.ContentInfo != nil {
		mi := f.ContentInfo.Mime
		a.Mime = &mi
		a.Content = contentAttributes{Image: f.ContentInfo.Image, Video: f.ContentInfo.Video}
	}
	u := h.base(r) + "/" + f.UUID + "/" + f.Filename
	a.OriginalURL = &u
	a.OriginalName = &f.OriginalFilename
	a.Size = &f.Size
	a.OriginalProtected = f.OriginalProtected
	a.Metadata = f.Metadata
	a.UploadedAt = stamp(&f.Uploaded, usLayout)
	if f.Removed != nil {
		a.Status = "removed"
		a.RemovedAt = stamp(f.Removed, msLayout)
	}
	a.ExpiresAt = stamp(f.Expires, msLayout)
	return d
}

// createInput reads what every way of creating a file shares.
func createInput(m map[string]any) (app.UploadOptions, error) {
	opts := app.UploadOptions{Store: "1", OriginalProtected: true}
	replace, patch, err := metadataInput(m)
	if err != nil {
		return opts, err
	}
	opts.Metadata = replace
	if patch != nil {
		opts.Metadata = patch
	}
	if opts.Expires, _, err = expiresAt(m); err != nil {
		return opts, err
	}
	prot, ok, err := boolean(m, "original_protected")
	if err != nil {
		return opts, err
	}
	if ok {
		opts.OriginalProtected = prot
	}
	return opts, opts.Validate()
}

func (h *Handler) createFile(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err == nil {
		err = h.mayCreate(r, c)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.readBody(r, c.p, h.app.MaxUploadSize(c.p, !c.secret))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	doc, err := h.create(r, c, b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusCreated, map[string]any{"data": doc})
}

func (h *Handler) create(r *http.Request, c *caller, b *body) (fileDoc, error) {
	ctx := r.Context()
	m := b.member("file")
	opts, err := createInput(m)
	opts.Anonymous = !c.secret
	if err != nil {
		if b.content != nil {
			b.content.Abort()
		}
		return fileDoc{}, err
	}
	chunked, _, err := boolean(m, "is_chunked_upload")
	if err == nil && b.content != nil && chunked {
		err = malformed("file[content] and file[is_chunked_upload] exclude each other.")
	}
	if err != nil {
		if b.content != nil {
			b.content.Abort()
		}
		return fileDoc{}, err
	}
	switch {
	case b.content != nil:
		files, err := h.app.Commit(ctx, c.p, opts, []*app.Incoming{b.content})
		if err != nil {
			return fileDoc{}, err
		}
		res, token, err := h.newResource(ctx, c.p, satchel.ResourceFile, files[0].UUID, fileState{})
		if err != nil {
			return fileDoc{}, err
		}
		return h.fileDoc(r, c, &fileView{res: res, f: files[0]}, &token, nil), nil
	case chunked:
		size, okSize, err := integer(m, "size")
		if err != nil {
			return fileDoc{}, err
		}
		if !okSize {
			return fileDoc{}, fieldError("size", "size is required for a chunked upload.")
		}
		chunkSize, okChunk, err := integer(m, "chunk_size")
		if err != nil {
			return fileDoc{}, err
		}
		if !okChunk {
			return fileDoc{}, fieldError("chunk_size", "chunk_size is required for a chunked upload.")
		}
		name, err := str(m, "filename")
		if err != nil {
			return fileDoc{}, err
		}
		ctype, err := str(m, "content_type")
		if err != nil {
			return fileDoc{}, err
		}
		s, err := h.app.StartChunked(ctx, c.p, opts, name, ctype, size, chunkSize)
		if err != nil {
			return fileDoc{}, err
		}
		st := fileState{Chunked: true, ChunkSize: chunkSize, Name: s.OriginalFilename, Size: size, Metadata: opts.Metadata, Expires: opts.Expires, Protected: opts.OriginalProtected, Anonymous: opts.Anonymous}
		res, token, err := h.newResource(ctx, c.p, satchel.ResourceFile, s.UUID, st)
		if err != nil {
			return fileDoc{}, err
		}
		return h.fileDoc(r, c, &fileView{res: res, st: st}, &token, h.app.PartURLs(h.base(r), s)), nil
	}
	source, err := str(m, "source_url")
	if err != nil {
		return fileDoc{}, err
	}
	if source == "" {
		e := satchel.Errorf(satchel.KindInvalid, reasonContentRequired, "file[content] or file[source_url] is required.")
		e.Field = "content"
		return fileDoc{}, e
	}
	t, _, err := h.app.FromURL(ctx, c.p, opts, source, "", false, false)
	if err != nil {
		return fileDoc{}, err
	}
	st := fileState{FetchToken: t.Token, Metadata: opts.Metadata, Expires: opts.Expires, Protected: opts.OriginalProtected}
	res, token, err := h.newResource(ctx, c.p, satchel.ResourceFile, "", st)
	if err != nil {
		return fileDoc{}, err
	}
	return h.fileDoc(r, c, &fileView{res: res, st: st}, &token, nil), nil
}

func (h *Handler) listFiles(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err == nil && !c.secret {
		err = errSecretRequired
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg, items := page(r)
	docs, count, err := h.listFilePage(r, c, (pg-1)*items, items)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": docs, "pagination": newPagination(count, pg, items)})
}

// listFilePage is one page of the project's files, whatever API made them:
// first the files still arriving through the dialect (URL fetches, chunked
// uploads, failed fetches), newest first, then the project's live files,
// newest first, each under its dialect id (or its derived id, see
// derivedFileID). It returns the count of both.
//
// The page and the count are read in one snapshot of the store (see
// satchel.ResourceStore.FileListing), so a file that becomes ready while
// the page is read is listed once, pending or live. A URL fetch whose file
// arrived unseen is still pending in the store with its file live beside
// it; loading the page settles it, and the page is read again so that the
// file takes its one place among the live files. A file is never listed
// twice on a page (by its UUID).
func (h *Handler) listFilePage(r *http.Request, c *caller, offset, limit int) ([]fileDoc, int64, error) {
	ctx := r.Context()
	for try := 1; ; try++ {
		l, err := h.app.Store.FileListing(ctx, c.p.ID, offset, limit)
		if err != nil {
			return nil, 0, err
		}
		views := make([]*fileView, 0, limit)
		settled := false
		for _, res := range l.Pending {
			target := res.Target
			v, err := h.loadFile(ctx, c.p, res)
			if err != nil {
				return nil, 0, err
			}
			settled = settled || (target == "" && v.res.Target != "")
			views = append(views, v)
		}
		if settled && try < maxListingReads {
			continue
		}
		seen := make(map[string]bool, limit)
		for _, v := range views {
			if v.res.Target != "" {
				seen[v.res.Target] = true
			}
		}
		for _, f := range l.Files {
			if seen[f.UUID] {
				continue
			}
			seen[f.UUID] = true
			v, err := h.fileView(ctx, c.p, f)
			if err != nil {
				return nil, 0, err
			}
			views = append(views, v)
		}
		docs := make([]fileDoc, 0, len(views))
		for _, v := range views {
			docs = append(docs, h.fileDoc(r, c, v, nil, nil))
		}
		return docs, l.Count(), nil
	}
}

// maxListingReads bounds the reads of one listing page: each read again
// follows fetches settled by the one before, which cannot go on forever
// but need not be followed far either (the page dedupes what is left).
const maxListingReads = 3

// fileView is the resource view of a live file: its dialect resource, or
// one under its derived id (recorded once the id is used).
func (h *Handler) fileView(ctx context.Context, p *satchel.Project, f *satchel.File) (*fileView, error) {
	res, err := h.app.Store.ResourceByTarget(ctx, p.ID, satchel.ResourceFile, f.UUID)
	if satchel.IsNotFound(err) {
		id, _ := derivedFileID(f.UUID)
		return &fileView{res: &satchel.Resource{ID: id, ProjectID: p.ID, Kind: satchel.ResourceFile, Target: f.UUID, State: "{}", Created: f.Uploaded}, f: f}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jsonapi: file resource: %w", err)
	}
	return h.loadFile(ctx, p, res)
}

// file authenticates a request for one file resource and loads it.
func (h *Handler) file(r *http.Request) (*caller, *fileView, error) {
	c, err := h.authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	res, err := h.resource(r, c, satchel.ResourceFile, prefixFile)
	if err != nil {
		return nil, nil, err
	}
	v, err := h.loadFile(r.Context(), c.p, res)
	if err != nil {
		return nil, nil, err
	}
	return c, v, nil
}

func (h *Handler) showFile(w http.ResponseWriter, r *http.Request) {
	c, v, err := h.file(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": h.fileDoc(r, c, v, tokenFor(c, v.res, ""), nil)})
}

var errNotReady = satchel.Errorf(satchel.KindConflict, satchel.ReasonFileNotReady, "The file is not ready yet.")

func (h *Handler) updateFile(w http.ResponseWriter, r *http.Request) {
	c, v, err := h.file(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.update(r, c, v); err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": h.fileDoc(r, c, v, tokenFor(c, v.res, ""), nil)})
}

// update finalizes a chunked upload and applies the changes of a PUT.
func (h *Handler) update(r *http.Request, c *caller, v *fileView) error {
	ctx := r.Context()
	b, err := h.readBody(r, nil, 0)
	if err != nil {
		return err
	}
	m := b.member("file")
	complete, _, err := boolean(m, "is_chunked_upload_complete")
	if err != nil {
		return err
	}
	var ch app.FileChange
	if ch.Metadata, ch.MetadataPatch, err = metadataInput(m); err != nil {
		return err
	}
	exp, expSet, err := expiresAt(m)
	if err != nil {
		return err
	}
	if expSet {
		ch.Expires = &exp
	}
	prot, protSet, err := boolean(m, "original_protected")
	if err != nil {
		return err
	}
	if protSet {
		ch.OriginalProtected = &prot
	}
	if complete {
		if !v.st.Chunked {
			return satchel.Errorf(satchel.KindConflict, reasonNotPending, "This file is not a chunked upload.")
		}
		if v.f == nil {
			f, err := h.app.CompleteMultipart(ctx, c.p, v.res.Target)
			if err != nil && satchel.AsError(err).Reason != satchel.ReasonUploadDone {
				return err
			}
			if f == nil {
				if f, err = h.app.Store.File(ctx, c.p.ID, v.res.Target); err != nil {
					return fmt.Errorf("jsonapi: completed file: %w", err)
				}
			}
			v.f = f
			if err := h.checkAnonymousType(ctx, c.p, v); err != nil {
				return err
			}
		}
		if !v.st.Complete {
			v.st.Complete = true
			if err := h.saveFile(ctx, v); err != nil {
				return err
			}
		}
	}
	if ch.Metadata == nil && ch.MetadataPatch == nil && ch.Expires == nil && ch.OriginalProtected == nil {
		return nil
	}
	if v.f == nil {
		return errNotReady
	}
	f, err := h.app.ChangeFile(ctx, c.p, v.f.UUID, ch)
	if err != nil {
		return err
	}
	v.f = f
	return nil
}

func (h *Handler) deleteFile(w http.ResponseWriter, r *http.Request) {
	c, v, err := h.file(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	token := tokenFor(c, v.res, "")
	if v.f != nil && v.f.Removed == nil {
		f, err := h.app.DeleteFile(r.Context(), c.p, v.f.UUID)
		if err != nil && !errors.Is(err, satchel.ErrNotFound) {
			h.fail(w, r, err)
			return
		}
		if f != nil {
			v.f = f
		}
	}
	// Removing the resource revokes its id and token.
	now := time.Now().UTC()
	v.res.Removed = &now
	if err := h.app.Store.UpdateResource(r.Context(), v.res); err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": h.fileDoc(r, c, v, token, nil)})
}
