// Package forms puts Satchel uploads into server-rendered HTML forms.
//
// A Field describes one form field (a file, an image, a group of files or of
// images, like pyuploadcare's FileField, ImageField, FileGroupField and
// ImageGroupField). Client.Widget renders it: a hidden input that
// Satchel's <satchel-uploader> element fills with the CDN URL of the upload.
// Client.Clean turns the posted value back into a verified file or group of
// the client's project, through the REST API, and checks the field's rules;
// Client.Save stores it (the widget uploads with store=0, so files a form
// never saves expire).
//
// Accepted values: a file UUID or CDN URL, with or without operations
// ("<uuid>", "<uuid>/-/crop/1:1/center/", "https://cdn/<uuid>/-/resize/400x/"),
// and for group fields a group id or CDN URL ("<uuid>~3",
// "https://cdn/<uuid>~3/"). Anything else, and any file or group the project
// does not have, is a *ValidationError.
package forms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// Client reaches one project of a Satchel server.
type Client struct {
	// BaseURL is the REST API base ("http://127.0.0.1:8080").
	BaseURL string
	// UploadBase and CDNBase default to BaseURL (Satchel serves all its
	// APIs on one address).
	UploadBase string
	CDNBase    string
	PublicKey  string
	SecretKey  string
	// HTTP is the client for REST calls (http.DefaultClient when nil).
	HTTP *http.Client
}

// Field is one upload field of a form and its rules.
type Field struct {
	// Name is the form field name (and the hidden input's id, prefixed).
	Name string
	// Required rejects an empty value.
	Required bool
	// ImagesOnly accepts images only (ImageField, ImageGroupField).
	ImagesOnly bool
	// Group takes several files, posted as a group (FileGroupField).
	Group bool
	// Crop is an aspect ratio "W:H" for images (ImageField's manual_crop):
	// the widget adds a centred crop to that ratio to the URL.
	Crop string
	// MaxSize is the largest file in bytes (0: no limit).
	MaxSize int64
	// Types lists the MIME types accepted ("image/png", "application/pdf",
	// "video/*"); empty accepts any.
	Types []string
	// MaxFiles is the largest group (0: no limit).
	MaxFiles int
}

// File is one verified file.
type File struct {
	UUID     string
	Filename string
	MimeType string
	Size     int64
	IsImage  bool
	Stored   bool
	// CDNURL is the file's CDN URL with the value's operations.
	CDNURL string
}

// Value is a verified posted value: a file, or a group of files.
type Value struct {
	// CDNURL is the canonical CDN URL of the value (operations included).
	CDNURL string
	// UUID is the file's UUID; GroupID the group's id ("<uuid>~N").
	UUID    string
	GroupID string
	// Operations are the file's canonical CDN operations ("crop/1:1/", "" for none).
	Operations string
	// Files holds the file, or the group's files in order.
	Files []File
}

// ValidationError is a posted value the field does not accept; its message
// is meant for the person filling in the form.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

func invalid(f Field, format string, a ...any) error {
	return &ValidationError{Field: f.Name, Msg: fmt.Sprintf(format, a...)}
}

func (c *Client) base(s string) string {
	if s == "" {
		s = c.BaseURL
	}
	return strings.TrimRight(s, "/") + "/"
}

// Script renders the <script> element that loads <satchel-uploader> from
// the Satchel server; put it once in the page's head.
func (c *Client) Script() template.HTML {
	src := c.base(c.UploadBase) + "uploader/uploader.js"
	return template.HTML(`<script src="` + template.HTMLEscapeString(src) + `"></script>`)
}

// Widget renders the field: a hidden input holding value and the uploader
// that fills it. A current value is shown as a link.
func (c *Client) Widget(f Field, value string) template.HTML {
	esc := template.HTMLEscapeString
	id := "satchel-field-" + f.Name
	var b strings.Builder
	fmt.Fprintf(&b, `<input type="hidden" name="%s" id="%s" value="%s">`, esc(f.Name), esc(id), esc(value))
	fmt.Fprintf(&b, `<satchel-uploader pub-key="%s" base-url="%s" cdn-base="%s" input="%s" store="0"`,
		esc(c.PublicKey), esc(c.base(c.UploadBase)), esc(c.base(c.CDNBase)), esc(id))
	if f.ImagesOnly {
		b.WriteString(" images-only")
	}
	if f.Group {
		b.WriteString(" multiple group")
	}
	if f.Crop != "" {
		fmt.Fprintf(&b, ` crop="%s"`, esc(f.Crop))
	}
	if f.MaxSize > 0 {
		fmt.Fprintf(&b, ` max-size="%d"`, f.MaxSize)
	}
	if len(f.Types) > 0 {
		fmt.Fprintf(&b, ` accept="%s"`, esc(strings.Join(f.Types, ",")))
	}
	b.WriteString("></satchel-uploader>")
	switch {
	case strings.HasPrefix(value, "https://") || strings.HasPrefix(value, "http://"):
		fmt.Fprintf(&b, `<p class="satchel-current">Current: <a href="%s">%s</a></p>`, esc(value), esc(value))
	case value != "":
		// Only http(s) values become links: a posted value may be anything.
		fmt.Fprintf(&b, `<p class="satchel-current">Current: %s</p>`, esc(value))
	}
	return template.HTML(b.String())
}

// FuncMap offers Script and Widget to templates as satchelScript and
// satchelWidget: {{satchelWidget .PhotoField .Photo}}.
func (c *Client) FuncMap() template.FuncMap {
	return template.FuncMap{"satchelScript": c.Script, "satchelWidget": c.Widget}
}

// target parses a posted value into a CDN target.
func (c *Client) target(f Field, raw string) (*cdnurl.Target, error) {
	p := raw
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		u, err := url.Parse(raw)
		if err != nil || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, invalid(f, "not a file URL")
		}
		p = u.EscapedPath()
		// A CDN base with a path ("https://example.com/cdn/") prefixes the URLs.
		if cu, err := url.Parse(c.base(c.CDNBase)); err == nil && cu.Path != "/" && strings.HasPrefix(p, cu.Path) {
			p = "/" + strings.TrimPrefix(p, cu.Path)
		}
	} else {
		if strings.ContainsAny(raw, "?#\\ \t\r\n") || strings.Contains(raw, "://") {
			return nil, invalid(f, "not a file UUID or URL")
		}
		p = "/" + strings.TrimPrefix(raw, "/")
	}
	t, err := cdnurl.Parse(p)
	if err != nil {
		return nil, invalid(f, "not a valid file UUID or URL (%v)", err)
	}
	if t.Special != "" || t.Archive != "" || t.Nth >= 0 {
		return nil, invalid(f, "not a file or group URL")
	}
	return t, nil
}

// Clean verifies the posted value of f: its syntax, that the project has
// the file or group (not deleted), and f's rules. An empty value gives a
// nil Value (an error when f is Required). Values the field does not accept
// are *ValidationError; other errors are failures to reach the API.
func (c *Client) Clean(ctx context.Context, f Field, raw string) (*Value, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if f.Required {
			return nil, invalid(f, "this field is required")
		}
		return nil, nil
	}
	if len(raw) > 4096 {
		return nil, invalid(f, "value too long")
	}
	t, err := c.target(f, raw)
	if err != nil {
		return nil, err
	}
	cdn := c.base(c.CDNBase)
	if t.GroupID != "" {
		if !f.Group {
			return nil, invalid(f, "expects one file, not a group")
		}
		return c.cleanGroup(ctx, f, t.GroupID, cdn)
	}
	if f.Group {
		return nil, invalid(f, "expects a group of files")
	}
	info, err := c.fileInfo(ctx, f, t.UUID)
	if err != nil {
		return nil, err
	}
	ops := cdnurl.FormatOps(t.Ops)
	v := &Value{UUID: t.UUID, Operations: ops, CDNURL: cdn + t.UUID + "/"}
	if ops != "" {
		if !info.IsImage {
			return nil, invalid(f, "operations apply to images only")
		}
		v.CDNURL += "-/" + ops
	}
	file := info.file(v.CDNURL)
	if err := checkFile(f, file); err != nil {
		return nil, err
	}
	v.Files = []File{file}
	return v, nil
}

func (c *Client) cleanGroup(ctx context.Context, f Field, id, cdn string) (*Value, error) {
	var g struct {
		ID         string      `json:"id"`
		FilesCount int         `json:"files_count"`
		Files      []*fileInfo `json:"files"`
	}
	status, err := c.call(ctx, http.MethodGet, "groups/"+id+"/", nil, &g)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, invalid(f, "no such group in this project")
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("forms: group %s: REST API answered %d", id, status)
	}
	if g.ID != id || g.FilesCount != len(g.Files) {
		return nil, invalid(f, "group does not match its id")
	}
	if f.MaxFiles > 0 && len(g.Files) > f.MaxFiles {
		return nil, invalid(f, "at most %d files", f.MaxFiles)
	}
	v := &Value{GroupID: id, CDNURL: cdn + id + "/"}
	for i, fi := range g.Files {
		if fi == nil || fi.Removed != nil {
			return nil, invalid(f, "file %d of the group was deleted", i+1)
		}
		file := fi.file(cdn + fi.UUID + "/")
		if err := checkFile(f, file); err != nil {
			return nil, err
		}
		v.Files = append(v.Files, file)
	}
	return v, nil
}

// checkFile applies f's rules to one file.
func checkFile(f Field, file File) error {
	if f.ImagesOnly && !file.IsImage {
		return invalid(f, "%s is not an image", file.Filename)
	}
	if f.MaxSize > 0 && file.Size > f.MaxSize {
		return invalid(f, "%s is too large (%d bytes, at most %d)", file.Filename, file.Size, f.MaxSize)
	}
	if len(f.Types) > 0 && !typeAllowed(f.Types, file.MimeType) {
		return invalid(f, "%s: type %s is not accepted", file.Filename, file.MimeType)
	}
	return nil
}

// typeAllowed matches a MIME type against "type/sub" and "type/*" patterns.
func typeAllowed(patterns []string, mime string) bool {
	mime = strings.ToLower(mime)
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == mime || strings.HasSuffix(p, "/*") && strings.HasPrefix(mime, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// fileInfo is the part of the REST API's file object used here.
type fileInfo struct {
	UUID     string  `json:"uuid"`
	Filename string  `json:"original_filename"`
	MimeType string  `json:"mime_type"`
	Size     int64   `json:"size"`
	IsImage  bool    `json:"is_image"`
	IsReady  bool    `json:"is_ready"`
	Stored   *string `json:"datetime_stored"`
	Removed  *string `json:"datetime_removed"`
}

func (fi *fileInfo) file(cdnURL string) File {
	return File{UUID: fi.UUID, Filename: fi.Filename, MimeType: fi.MimeType, Size: fi.Size, IsImage: fi.IsImage, Stored: fi.Stored != nil, CDNURL: cdnURL}
}

func (c *Client) fileInfo(ctx context.Context, f Field, uuid string) (*fileInfo, error) {
	var fi fileInfo
	status, err := c.call(ctx, http.MethodGet, "files/"+uuid+"/", nil, &fi)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, invalid(f, "no such file in this project")
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("forms: file %s: REST API answered %d", uuid, status)
	}
	if fi.UUID != uuid {
		return nil, invalid(f, "no such file in this project")
	}
	if fi.Removed != nil {
		return nil, invalid(f, "the file was deleted")
	}
	if !fi.IsReady {
		return nil, invalid(f, "the file is still being uploaded")
	}
	return &fi, nil
}

// Save stores the value's files, so that they do not expire.
func (c *Client) Save(ctx context.Context, v *Value) error {
	if v == nil {
		return nil
	}
	ids := make([]string, 0, len(v.Files))
	for _, f := range v.Files {
		if !f.Stored {
			ids = append(ids, f.UUID)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 100)
		body, _ := json.Marshal(ids[:n])
		var res struct {
			Problems map[string]any `json:"problems"`
		}
		status, err := c.call(ctx, http.MethodPut, "files/storage/", body, &res)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("forms: store: REST API answered %d", status)
		}
		if len(res.Problems) > 0 {
			return fmt.Errorf("forms: store: %v", res.Problems)
		}
		ids = ids[n:]
	}
	for i := range v.Files {
		v.Files[i].Stored = true
	}
	return nil
}

// call makes one signed REST API request and decodes a 200 answer into out.
func (c *Client) call(ctx context.Context, method, p string, body []byte, out any) (int, error) {
	u, err := url.Parse(c.base(c.BaseURL))
	if err != nil {
		return 0, fmt.Errorf("forms: base URL: %w", err)
	}
	u.Path = path.Join(u.Path, p) + "/"
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("forms: %w", err)
	}
	c.sign(req, body)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("forms: REST API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("forms: REST API: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("forms: REST API answer: %w", err)
		}
	case http.StatusUnauthorized, http.StatusForbidden:
		return resp.StatusCode, errors.New("forms: REST API refused the keys: " + strings.TrimSpace(string(b)))
	}
	return resp.StatusCode, nil
}

// sign adds the REST API's HMAC-SHA1 "Uploadcare" authorization.
func (c *Client) sign(req *http.Request, body []byte) {
	date := time.Now().UTC().Format(http.TimeFormat)
	ctype := "application/json"
	sum := md5.Sum(body)
	uri := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		uri += "?" + req.URL.RawQuery
	}
	msg := req.Method + "\n" + hex.EncodeToString(sum[:]) + "\n" + ctype + "\n" + date + "\n" + uri
	mac := hmac.New(sha1.New, []byte(c.SecretKey))
	mac.Write([]byte(msg))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", "Uploadcare "+c.PublicKey+":"+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("User-Agent", "satchel-forms")
}
