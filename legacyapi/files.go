package legacyapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

// file is the dialect's file object.
type file struct {
	XMLName          xml.Name `json:"-" xml:"file"`
	FileID           string   `json:"file_id" xml:"file_id"`
	LastKeepClaim    *string  `json:"last_keep_claim" xml:"last_keep_claim,omitempty"`
	MadePublic       bool     `json:"made_public" xml:"made_public"`
	MimeType         string   `json:"mime_type" xml:"mime_type"`
	OnS3             bool     `json:"on_s3" xml:"on_s3"`
	OriginalFileURL  *string  `json:"original_file_url" xml:"original_file_url,omitempty"`
	OriginalFilename string   `json:"original_filename" xml:"original_filename"`
	Removed          *string  `json:"removed" xml:"removed,omitempty"`
	Size             int64    `json:"size" xml:"size"`
	UploadDate       string   `json:"upload_date" xml:"upload_date"`
	URL              string   `json:"url" xml:"url"`
}

// fileList is one page of files and the link to the next.
type fileList struct {
	XMLName xml.Name `json:"-" xml:"files"`
	Next    *string  `json:"next" xml:"next,omitempty"`
	Results []file   `json:"results" xml:"file"`
}

// stamp renders a datetime, or null.
func stamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := apiview.Time(*t)
	return &s
}

func (r *request) file(f *satchel.File) file {
	out := file{
		FileID: f.UUID, LastKeepClaim: stamp(f.Stored), MadePublic: f.IsStored(), MimeType: f.MimeType, OnS3: f.IsStored(),
		OriginalFilename: f.OriginalFilename, Removed: stamp(f.Removed), Size: f.Size,
		UploadDate: apiview.Time(f.Uploaded), URL: r.base + "/files/" + f.UUID + "/",
	}
	if f.Removed == nil && f.IsReady {
		u := r.base + "/" + f.UUID + "/" + f.Filename
		out.OriginalFileURL = &u
	}
	return out
}

// listFiles lists the live files in upload order: limit (1–1000, default
// 100) per page, from the file after the one named by from.
func (h *Handler) listFiles(r *request) error {
	q := satchel.FileQuery{ProjectID: r.project.ID, Limit: 100}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return satchel.Errorf(satchel.KindInvalid, "", "limit must be an integer.")
		}
		q.Limit = min(max(n, 1), 1000)
	}
	if id := r.URL.Query().Get("from"); id != "" {
		f, err := h.app.FileInfo(r.Context(), r.project, id)
		if err != nil {
			return err
		}
		q.FromTime, q.FromUUID = &f.Uploaded, f.UUID
	}
	limit := q.Limit
	q.Limit++
	files, err := h.app.ListFiles(r.Context(), r.project, q)
	if err != nil {
		return err
	}
	out := fileList{Results: []file{}}
	if len(files) > limit {
		files = files[:limit]
		next := fmt.Sprintf("%s/files/?limit=%d&from=%s", r.base, limit, files[limit-1].UUID)
		out.Next = &next
	}
	for _, f := range files {
		out.Results = append(out.Results, r.file(f))
	}
	return r.reply(http.StatusOK, out)
}

func (h *Handler) fileInfo(r *request) error {
	if !satchel.ValidUUID(r.PathValue("uuid")) {
		return errNotFound
	}
	f, err := h.app.Store.File(r.Context(), r.project.ID, r.PathValue("uuid"))
	if satchel.IsNotFound(err) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, r.file(f))
}

// keepFile stores the file when the request says keep=1 (in its query, or a
// form, JSON or XML body).
func (h *Handler) keepFile(r *request) error {
	keep := r.URL.Query().Get("keep")
	var body struct {
		Keep any `json:"keep"`
	}
	var xbody struct {
		Keep string `xml:"keep"`
	}
	switch ct := r.Header.Get("Content-Type"); {
	case keep != "":
	case strings.Contains(ct, "json"):
		if json.Unmarshal(r.body, &body) == nil && body.Keep != nil {
			keep = fmt.Sprint(body.Keep)
		}
	case strings.Contains(ct, "xml"):
		if xml.Unmarshal(r.body, &xbody) == nil {
			keep = xbody.Keep
		}
	default:
		form, _ := url.ParseQuery(string(r.body))
		keep = form.Get("keep")
	}
	if keep != "1" && keep != "true" {
		return &satchel.Error{Kind: satchel.KindInvalid, Field: "keep", Message: "keep must be 1."}
	}
	f, err := h.app.StoreFile(r.Context(), r.project, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, r.file(f))
}

func (h *Handler) deleteFile(r *request) error {
	f, err := h.app.DeleteFile(r.Context(), r.project, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, r.file(f))
}
