package ucare

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// FromURLOptions shape an upload from URL. The zero value is fine.
type FromURLOptions struct {
	// Filename overrides the name taken from the URL.
	Filename string
	Store    StoreMode
	Metadata map[string]string
	Tags     []string
	// CheckDuplicates answers with the file uploaded earlier from the same
	// URL, if any (UploadFromURL then returns a *DuplicateFileError).
	CheckDuplicates bool
	// SaveDuplicates remembers this URL for later duplicate checks
	// (default: CheckDuplicates).
	SaveDuplicates *bool
	// PollInterval is the status polling period of the waiting variants
	// (300ms by default).
	PollInterval time.Duration
	// Timeout bounds the wait of the waiting variants (none by default:
	// the context decides); exceeding it returns a *TimeoutError.
	Timeout time.Duration
	// Progress is told about the download's progress while waiting.
	Progress func(Progress)
}

// FromURLStatus is the state of an upload from URL.
type FromURLStatus struct {
	// Status is "waiting", "progress", "success", "error" or "unknown".
	Status string
	// Done and Total are the downloaded and expected bytes (Total -1 while
	// unknown).
	Done, Total int64
	// Error and ErrorCode explain an "error" status.
	Error     string
	ErrorCode string
	// File is the uploaded file once Status is "success".
	File *UploadedFile
}

// UploadFromURL asks the Upload API to fetch sourceURL and returns the token
// of that task (see FromURLStatus, WaitFromURL). With CheckDuplicates, a URL
// uploaded before gives a *DuplicateFileError holding that file.
func (c *Client) UploadFromURL(ctx context.Context, sourceURL string, opts *FromURLOptions) (string, error) {
	o := FromURLOptions{}
	if opts != nil {
		o = *opts
	}
	f := url.Values{"pub_key": {c.cfg.PublicKey}, "source_url": {sourceURL}}
	addUploadOptions(f, "store", o.Store, o.Metadata, o.Tags, "")
	if o.Filename != "" {
		f.Set("filename", o.Filename)
	}
	if o.CheckDuplicates {
		f.Set("check_URL_duplicates", "1")
	}
	if o.SaveDuplicates != nil {
		f.Set("save_URL_duplicates", boolDigit(*o.SaveDuplicates))
	}
	c.signUpload(f)
	var raw json.RawMessage
	if err := c.uploadCall(ctx, http.MethodPost, "/from_url/", f, &raw); err != nil {
		return "", err
	}
	var head struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", &APIError{StatusCode: http.StatusOK, Method: http.MethodPost, URL: c.uploadBase + "/from_url/", Message: "unexpected answer: " + err.Error()}
	}
	if head.Type == "file_info" {
		var fi UploadedFile
		if err := json.Unmarshal(raw, &fi); err != nil {
			return "", &APIError{StatusCode: http.StatusOK, Method: http.MethodPost, URL: c.uploadBase + "/from_url/", Message: "unexpected answer: " + err.Error()}
		}
		return "", &DuplicateFileError{File: &fi}
	}
	if head.Token == "" {
		return "", &APIError{StatusCode: http.StatusOK, Method: http.MethodPost, URL: c.uploadBase + "/from_url/", Message: "the answer has no token"}
	}
	return head.Token, nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// FromURLStatus returns the state of the upload-from-URL task token.
func (c *Client) FromURLStatus(ctx context.Context, token string) (*FromURLStatus, error) {
	var raw json.RawMessage
	if err := c.uploadCall(ctx, http.MethodGet, "/from_url/status/", url.Values{"token": {token}}, &raw); err != nil {
		return nil, err
	}
	var v struct {
		Status    string          `json:"status"`
		Done      int64           `json:"done"`
		Total     json.RawMessage `json:"total"`
		Error     string          `json:"error"`
		ErrorCode string          `json:"error_code"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &APIError{StatusCode: http.StatusOK, Method: http.MethodGet, URL: c.uploadBase + "/from_url/status/", Message: "unexpected answer: " + err.Error()}
	}
	st := &FromURLStatus{Status: v.Status, Done: v.Done, Total: -1, Error: v.Error, ErrorCode: v.ErrorCode}
	var total int64
	if json.Unmarshal(v.Total, &total) == nil && (total > 0 || v.Status != "waiting") {
		st.Total = total
	}
	if v.Status == "success" {
		st.File = &UploadedFile{}
		if err := json.Unmarshal(raw, st.File); err != nil {
			return nil, &APIError{StatusCode: http.StatusOK, Method: http.MethodGet, URL: c.uploadBase + "/from_url/status/", Message: "unexpected answer: " + err.Error()}
		}
		st.Done, st.Total = st.File.Size, st.File.Size
	}
	return st, nil
}

// WaitFromURL polls the task token until its file is uploaded. A failed task
// gives an *UploadError.
func (c *Client) WaitFromURL(ctx context.Context, token string, opts *FromURLOptions) (*UploadedFile, error) {
	o := FromURLOptions{}
	if opts != nil {
		o = *opts
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 300 * time.Millisecond
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	for {
		st, err := c.FromURLStatus(ctx, token)
		if err != nil {
			return nil, waitError(ctx, "upload from URL "+token, err)
		}
		if o.Progress != nil {
			o.Progress(Progress{Done: st.Done, Total: st.Total})
		}
		switch st.Status {
		case "success":
			return st.File, nil
		case "error", "failed":
			return nil, &UploadError{Token: token, Message: st.Error, Code: st.ErrorCode}
		case "unknown":
			return nil, &UploadError{Token: token, Message: "the server does not know this task (expired?)"}
		}
		if err := sleep(ctx, o.PollInterval); err != nil {
			return nil, waitError(ctx, "upload from URL "+token, err)
		}
	}
}

// UploadFromURLAndWait uploads the file at sourceURL and waits until it is
// there. A URL uploaded before (with CheckDuplicates) gives that file.
func (c *Client) UploadFromURLAndWait(ctx context.Context, sourceURL string, opts *FromURLOptions) (*UploadedFile, error) {
	token, err := c.UploadFromURL(ctx, sourceURL, opts)
	var dup *DuplicateFileError
	if errors.As(err, &dup) {
		return dup.File, nil
	}
	if err != nil {
		return nil, err
	}
	return c.WaitFromURL(ctx, token, opts)
}

// waitError turns the end of a wait's context into a *TimeoutError.
func waitError(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		var te *TimeoutError
		if errors.As(err, &te) {
			return err
		}
		return &TimeoutError{Op: op, Err: ctx.Err()}
	}
	return err
}
