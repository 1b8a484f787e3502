package ucare

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ListFilesOptions filter and order a file list. The zero value lists every
// file that is not removed, oldest first, 100 per page.
type ListFilesOptions struct {
	// Stored keeps only stored (true) or only temporary (false) files.
	Stored *bool
	// Removed lists removed files instead.
	Removed bool
	// Limit is the page size (1..1000; the server's default when 0).
	Limit int
	// Ordering is "datetime_uploaded" (default) or "-datetime_uploaded"
	// ("size"/"-size" on API 0.5/0.6).
	Ordering string
	// From starts the list after this upload time (exclusive).
	From time.Time
	// FromSize starts a size-ordered list after this size (API 0.5/0.6).
	FromSize *int64
	// IncludeAppdata adds add-on results (API 0.7).
	IncludeAppdata bool
}

func (o *ListFilesOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Stored != nil {
		q.Set("stored", strconv.FormatBool(*o.Stored))
	}
	if o.Removed {
		q.Set("removed", "true")
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Ordering != "" {
		q.Set("ordering", o.Ordering)
	}
	if !o.From.IsZero() {
		q.Set("from", o.From.UTC().Format("2006-01-02T15:04:05.999999Z07:00"))
	}
	if o.FromSize != nil {
		q.Set("from", strconv.FormatInt(*o.FromSize, 10))
	}
	if o.IncludeAppdata {
		q.Set("include", "appdata")
	}
	return q
}

// FilePage is one page of a file list.
type FilePage struct {
	// Next and Previous are the API's links to the neighbouring pages
	// ("" when there is none).
	Next     string  `json:"next"`
	Previous string  `json:"previous"`
	Total    int     `json:"total"`
	PerPage  int     `json:"per_page"`
	Totals   *Totals `json:"totals"`
	Results  []*File `json:"results"`
}

// Totals are a project's file counters.
type Totals struct {
	Removed  int `json:"removed"`
	Stored   int `json:"stored"`
	Unstored int `json:"unstored"`
}

// FilesPage returns the first page of the file list.
func (c *Client) FilesPage(ctx context.Context, opts *ListFilesOptions) (*FilePage, error) {
	var p FilePage
	if _, err := c.restCall(ctx, http.MethodGet, "/files/", opts.query(), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// NextFilesPage returns the page after p (nil when p is the last one). It
// follows p.Next's query on the client's APIBase, so the links work even
// when the server names itself differently.
func (c *Client) NextFilesPage(ctx context.Context, p *FilePage) (*FilePage, error) {
	return followPage[FilePage](ctx, c, "/files/", p.Next)
}

func followPage[P any](ctx context.Context, c *Client, path, link string) (*P, error) {
	if link == "" {
		return nil, nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return nil, &APIError{StatusCode: http.StatusOK, Method: http.MethodGet, URL: link, Message: "bad page link: " + err.Error()}
	}
	var p P
	if _, err := c.restCall(ctx, http.MethodGet, path, u.Query(), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListFiles iterates over every file of the list, page after page:
//
//	for f, err := range client.ListFiles(ctx, nil) {
//		if err != nil { … }
//		fmt.Println(f.UUID)
//	}
//
// An error ends the iteration.
func (c *Client) ListFiles(ctx context.Context, opts *ListFilesOptions) iter.Seq2[*File, error] {
	return eachItem(func() (*FilePage, error) { return c.FilesPage(ctx, opts) },
		func(p *FilePage) (*FilePage, error) { return c.NextFilesPage(ctx, p) },
		func(p *FilePage) ([]*File, string) { return p.Results, p.Next })
}

// eachItem iterates over the items of a paginated list: first fetches the
// first page, next the following one, items splits a page into its items
// and its next link. An error ends the iteration.
func eachItem[T, P any](first func() (P, error), next func(P) (P, error), items func(P) ([]T, string)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		p, err := first()
		for {
			if err != nil {
				yield(zero, err)
				return
			}
			list, link := items(p)
			for _, it := range list {
				if !yield(it, nil) {
					return
				}
			}
			if link == "" || len(list) == 0 {
				return
			}
			p, err = next(p)
		}
	}
}

// FileInfoOptions add optional parts to a file's description.
type FileInfoOptions struct {
	// IncludeAppdata adds add-on results (API 0.7).
	IncludeAppdata bool
}

// FileInfo returns a file (its UUID, or a CDN URL of it).
func (c *Client) FileInfo(ctx context.Context, file string, opts *FileInfoOptions) (*File, error) {
	id, err := fileID(file)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if opts != nil && opts.IncludeAppdata {
		q.Set("include", "appdata")
	}
	var f File
	if _, err := c.restCall(ctx, http.MethodGet, "/files/"+id+"/", q, nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// StoreFile stores a file permanently.
func (c *Client) StoreFile(ctx context.Context, file string) (*File, error) {
	return c.fileCall(ctx, http.MethodPut, file, "storage/")
}

// DeleteFile deletes a file (it stays listed with Removed).
func (c *Client) DeleteFile(ctx context.Context, file string) (*File, error) {
	return c.fileCall(ctx, http.MethodDelete, file, "storage/")
}

func (c *Client) fileCall(ctx context.Context, method, file, sub string) (*File, error) {
	id, err := fileID(file)
	if err != nil {
		return nil, err
	}
	var f File
	if _, err := c.restCall(ctx, method, "/files/"+id+"/"+sub, nil, nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// StoreFiles stores files (UUIDs or CDN URLs), BatchSize per request. Files
// that could not be stored are listed in the result's Problems.
func (c *Client) StoreFiles(ctx context.Context, files []string) (*BatchResult, error) {
	return c.batch(ctx, http.MethodPut, files)
}

// DeleteFiles deletes files (UUIDs or CDN URLs), BatchSize per request.
func (c *Client) DeleteFiles(ctx context.Context, files []string) (*BatchResult, error) {
	return c.batch(ctx, http.MethodDelete, files)
}

func (c *Client) batch(ctx context.Context, method string, files []string) (*BatchResult, error) {
	out := &BatchResult{Files: []*File{}, Problems: map[string]string{}}
	for start := 0; start < len(files); start += BatchSize {
		chunk := files[start:min(start+BatchSize, len(files))]
		ids := make([]string, len(chunk))
		for i, f := range chunk {
			if id, err := fileID(f); err == nil {
				ids[i] = id
			} else {
				ids[i] = f // the server reports it as a problem
			}
		}
		var res BatchResult
		if _, err := c.restCall(ctx, method, "/files/storage/", nil, ids, &res); err != nil {
			return out, err
		}
		out.Files = append(out.Files, res.Files...)
		for k, v := range res.Problems {
			out.Problems[k] = v
		}
	}
	return out, nil
}

// LocalCopyOptions shape a local copy.
type LocalCopyOptions struct {
	// Store stores the copy (it is temporary otherwise).
	Store bool
	// Metadata is set on the copy.
	Metadata map[string]string
}

// CopyFileLocal copies a file (UUID, "<uuid>/-/ops/" or CDN URL) into a new
// file of the project.
func (c *Client) CopyFileLocal(ctx context.Context, source string, opts *LocalCopyOptions) (*File, error) {
	body := map[string]any{"source": source}
	if opts != nil {
		body["store"] = opts.Store
		if len(opts.Metadata) > 0 {
			body["metadata"] = opts.Metadata
		}
	}
	var res struct {
		Type   string `json:"type"`
		Result *File  `json:"result"`
	}
	if _, err := c.restCall(ctx, http.MethodPost, "/files/local_copy/", nil, body, &res); err != nil {
		return nil, err
	}
	if res.Result == nil {
		return nil, &APIError{StatusCode: http.StatusCreated, Method: http.MethodPost, URL: c.apiBase + "/files/local_copy/", Message: "the answer has no result"}
	}
	return res.Result, nil
}

// RemoteCopyOptions shape a remote copy.
type RemoteCopyOptions struct {
	// MakePublic makes the copy publicly readable (default true).
	MakePublic *bool
	// Pattern names the copy: ${default} (= ${uuid}/${auto_filename}),
	// ${auto_filename}, ${filename}, ${effects}, ${ext}, ${uuid}.
	Pattern string
}

// CopyFileRemote copies a file to the project's custom storage target and
// returns where it went. created is false when an object of that name
// already existed (it was not overwritten).
func (c *Client) CopyFileRemote(ctx context.Context, source, target string, opts *RemoteCopyOptions) (result string, created bool, err error) {
	body := map[string]any{"source": source, "target": target}
	if opts != nil {
		if opts.MakePublic != nil {
			body["make_public"] = *opts.MakePublic
		}
		if opts.Pattern != "" {
			body["pattern"] = opts.Pattern
		}
	}
	var res struct {
		Type   string  `json:"type"`
		Result *string `json:"result"`
	}
	status, err := c.restCall(ctx, http.MethodPost, "/files/remote_copy/", nil, body, &res)
	if err != nil {
		return "", false, err
	}
	if res.Result != nil {
		result = *res.Result
	}
	return result, status == http.StatusCreated, nil
}

// FileMetadata returns all metadata of a file.
func (c *Client) FileMetadata(ctx context.Context, uuid string) (map[string]string, error) {
	md := map[string]string{}
	if _, err := c.restCall(ctx, http.MethodGet, "/files/"+uuid+"/metadata/", nil, nil, &md); err != nil {
		return nil, err
	}
	return md, nil
}

// FileMetadataKey returns one metadata value (a 404 *InvalidRequestError
// when the key is not set).
func (c *Client) FileMetadataKey(ctx context.Context, uuid, key string) (string, error) {
	var v string
	if _, err := c.restCall(ctx, http.MethodGet, metadataPath(uuid, key), nil, nil, &v); err != nil {
		return "", err
	}
	return v, nil
}

// SetFileMetadataKey sets one metadata value.
func (c *Client) SetFileMetadataKey(ctx context.Context, uuid, key, value string) (string, error) {
	if !metadataKeyRe.MatchString(key) {
		return "", &InvalidParamError{"key", "metadata keys are 1 to 64 of A-Z a-z 0-9 - _ . :"}
	}
	var v string
	if _, err := c.restCall(ctx, http.MethodPut, metadataPath(uuid, key), nil, value, &v); err != nil {
		return "", err
	}
	return v, nil
}

// DeleteFileMetadataKey removes one metadata key.
func (c *Client) DeleteFileMetadataKey(ctx context.Context, uuid, key string) error {
	_, err := c.restCall(ctx, http.MethodDelete, metadataPath(uuid, key), nil, nil, nil)
	return err
}

var metadataKeyRe = regexp.MustCompile(`^[-_.:A-Za-z0-9]{1,64}$`)

func metadataPath(uuid, key string) string {
	k := url.PathEscape(key)
	if strings.Trim(key, ".") == "" {
		k = strings.ReplaceAll(key, ".", "%2E") // "." and ".." are path steps otherwise
	}
	return "/files/" + uuid + "/metadata/" + k + "/"
}

// FileTags returns a file's tags.
func (c *Client) FileTags(ctx context.Context, uuid string) ([]string, error) {
	var res TagsChange
	if _, err := c.restCall(ctx, http.MethodGet, "/files/"+uuid+"/tags/", nil, nil, &res); err != nil {
		return nil, err
	}
	return res.Tags, nil
}

// SetFileTags replaces a file's tags (an empty list clears them).
func (c *Client) SetFileTags(ctx context.Context, uuid string, tags []string) (*TagsChange, error) {
	if tags == nil {
		tags = []string{}
	}
	var res TagsChange
	if _, err := c.restCall(ctx, http.MethodPut, "/files/"+uuid+"/tags/", nil, map[string][]string{"tags": tags}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateFileTags adds and removes tags (removal first).
func (c *Client) UpdateFileTags(ctx context.Context, uuid string, add, remove []string) (*TagsChange, error) {
	body := map[string][]string{}
	if len(add) > 0 {
		body["add"] = add
	}
	if len(remove) > 0 {
		body["delete"] = remove
	}
	var res TagsChange
	if _, err := c.restCall(ctx, http.MethodPatch, "/files/"+uuid+"/tags/", nil, body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// uuidRe finds a file UUID in a path or URL (as pyuploadcare does).
var uuidRe = regexp.MustCompile(`[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}`)

// fileID extracts the UUID of a file reference: a UUID, "<uuid>/-/ops/" or a
// CDN URL.
func fileID(ref string) (string, error) {
	if id := uuidRe.FindString(strings.ToLower(ref)); id != "" {
		return id, nil
	}
	return "", &InvalidParamError{"file", ref + " holds no file UUID"}
}

// ExtractUUID returns the file UUID in s (a UUID, a CDN path or URL), or "".
func ExtractUUID(s string) string {
	id, _ := fileID(s)
	return id
}
