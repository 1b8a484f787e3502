package ucare

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// StoreMode says whether an upload is stored permanently.
type StoreMode string

// Store modes of uploads.
const (
	// StoreAuto follows the project's auto-store setting (the default).
	StoreAuto StoreMode = "auto"
	// StoreTrue stores the file.
	StoreTrue StoreMode = "1"
	// StoreFalse keeps the file temporary (deleted after 24 hours unless
	// stored later).
	StoreFalse StoreMode = "0"
)

func (s StoreMode) value() string {
	if s == "" {
		return string(StoreAuto)
	}
	return string(s)
}

// uploadCall sends a request to the Upload API: form (POST, urlencoded) or
// query (GET) with jsonerrors=1, and decodes the answer into out.
func (c *Client) uploadCall(ctx context.Context, method, path string, params url.Values, out any) error {
	u := c.uploadBase + path
	q := url.Values{"jsonerrors": {"1"}}
	r := &request{method: method, client: c.upload, header: http.Header{}}
	if method == http.MethodGet {
		for k, vs := range params {
			q[k] = vs
		}
	} else {
		r.body = []byte(params.Encode())
		r.header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.url = u + "?" + q.Encode()
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	return decodeUpload(r, resp, out)
}

// decodeUpload checks an Upload API answer for errors (a non-2xx status
// with a text body, or a 200 carrying a jsonerrors error object) and decodes
// it into out.
func decodeUpload(r *request, resp *response, out any) error {
	if resp.status >= 300 {
		e := &APIError{StatusCode: resp.status, Method: r.method, URL: redactURL(r.url), Message: strings.TrimSpace(string(resp.body))}
		var je jsonError
		if json.Unmarshal(resp.body, &je) == nil && je.Error != nil {
			e.Message, e.Code = je.Error.Content, je.Error.ErrorCode
		}
		return classify(e, retryAfter(resp.header), resp.body)
	}
	var je jsonError
	if json.Unmarshal(resp.body, &je) == nil && je.Error != nil && je.Error.StatusCode != 0 {
		e := &APIError{StatusCode: je.Error.StatusCode, Method: r.method, URL: redactURL(r.url), Message: je.Error.Content, Code: je.Error.ErrorCode}
		return classify(e, retryAfter(resp.header), resp.body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return &APIError{StatusCode: resp.status, Method: r.method, URL: redactURL(r.url), Message: "unexpected response body: " + err.Error()}
		}
	}
	return nil
}

// jsonError is the Upload API's error object with jsonerrors=1. Error is
// decoded only when it is an object (from_url status answers carry a string
// "error").
type jsonError struct {
	Error *struct {
		Content    string `json:"content"`
		StatusCode int    `json:"status_code"`
		ErrorCode  string `json:"error_code"`
	}
}

// UnmarshalJSON decodes "error" only when it is an object.
func (j *jsonError) UnmarshalJSON(b []byte) error {
	var raw struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw.Error) > 0 && raw.Error[0] == '{' {
		j.Error = &struct {
			Content    string `json:"content"`
			StatusCode int    `json:"status_code"`
			ErrorCode  string `json:"error_code"`
		}{}
		return json.Unmarshal(raw.Error, j.Error)
	}
	return nil
}

// redactURL drops signatures from URLs shown in errors.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	q := u.Query()
	changed := false
	for _, k := range []string{"signature", "X-Amz-Signature"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// signUpload adds signature and expire when signed uploads are on.
func (c *Client) signUpload(f url.Values) {
	if !c.cfg.SignedUploads {
		return
	}
	exp := c.now().Add(c.cfg.SignedUploadTTL).Unix()
	f.Set("signature", UploadSignature(c.cfg.SecretKey, exp))
	f.Set("expire", strconv.FormatInt(exp, 10))
}

// addUploadOptions adds store, metadata, tags and source fields.
func addUploadOptions(f url.Values, storeField string, store StoreMode, md map[string]string, tags []string, source string) {
	f.Set(storeField, store.value())
	for k, v := range md {
		f.Set("metadata["+k+"]", v)
	}
	if len(tags) > 0 {
		f.Set("tags", strings.Join(tags, ","))
	}
	if source != "" {
		f.Set("source", source)
	}
}

// UploadInfo returns what the Upload API knows about a file (no secret key
// needed).
func (c *Client) UploadInfo(ctx context.Context, uuid string) (*UploadedFile, error) {
	var f UploadedFile
	err := c.uploadCall(ctx, http.MethodGet, "/info/", url.Values{"pub_key": {c.cfg.PublicKey}, "file_id": {uuid}}, &f)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// CreateGroup makes a group of files. Members are file UUIDs, UUIDs with CDN
// operations ("<uuid>/-/resize/200x/", which become the member's default
// effects) or CDN URLs. The Upload API answers with the members (their
// datetime fields are not part of that answer).
func (c *Client) CreateGroup(ctx context.Context, members []string) (*Group, error) {
	if len(members) == 0 {
		return nil, &InvalidParamError{"members", "a group needs at least one file"}
	}
	f := url.Values{"pub_key": {c.cfg.PublicKey}}
	for i, m := range members {
		f.Set("files["+strconv.Itoa(i)+"]", m)
	}
	c.signUpload(f)
	var g Group
	if err := c.uploadCall(ctx, http.MethodPost, "/group/", f, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// UploadGroupInfo returns a group as the Upload API describes it (no secret
// key needed).
func (c *Client) UploadGroupInfo(ctx context.Context, groupID string) (*Group, error) {
	var g Group
	err := c.uploadCall(ctx, http.MethodGet, "/group/info/", url.Values{"pub_key": {c.cfg.PublicKey}, "group_id": {groupID}}, &g)
	if err != nil {
		return nil, err
	}
	return &g, nil
}
