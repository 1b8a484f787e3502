package ucare

import (
	"context"
	"net/http"
	"net/url"
)

// Add-on names.
const (
	AddonRekognitionLabels     = "aws_rekognition_detect_labels"
	AddonRekognitionModeration = "aws_rekognition_detect_moderation_labels"
	AddonClamAV                = "uc_clamav_virus_scan"
	AddonRemoveBG              = "remove_bg"
)

// ClamAVParams are the parameters of AddonClamAV.
type ClamAVParams struct {
	// PurgeInfected deletes the file when it is infected.
	PurgeInfected bool `json:"purge_infected"`
}

// RemoveBGParams are the parameters of AddonRemoveBG (unset fields keep the
// service's defaults).
type RemoveBGParams struct {
	Crop             *bool  `json:"crop,omitempty"`
	CropMargin       string `json:"crop_margin,omitempty"`
	Scale            string `json:"scale,omitempty"`
	AddShadow        *bool  `json:"add_shadow,omitempty"`
	TypeLevel        string `json:"type_level,omitempty"`
	Type             string `json:"type,omitempty"`
	Semitransparency *bool  `json:"semitransparency,omitempty"`
	Channels         string `json:"channels,omitempty"`
	ROI              string `json:"roi,omitempty"`
	Position         string `json:"position,omitempty"`
}

// AddonStatus is the state of an add-on run.
type AddonStatus struct {
	// Status is in_progress, done, error or unknown.
	Status string `json:"status"`
	// Result is set by add-ons that make a file (remove_bg).
	Result *struct {
		FileID string `json:"file_id"`
	} `json:"result"`
}

// ExecuteAddon runs an add-on on a file and returns the run's request id.
// params may be nil, or ClamAVParams, RemoveBGParams or any JSON-able value.
func (c *Client) ExecuteAddon(ctx context.Context, addon, target string, params any) (string, error) {
	body := map[string]any{"target": target}
	if params != nil {
		body["params"] = params
	}
	var res struct {
		RequestID string `json:"request_id"`
	}
	if _, err := c.restCall(ctx, http.MethodPost, "/addons/"+url.PathEscape(addon)+"/execute/", nil, body, &res); err != nil {
		return "", err
	}
	return res.RequestID, nil
}

// AddonExecutionStatus returns the state of an add-on run.
func (c *Client) AddonExecutionStatus(ctx context.Context, addon, requestID string) (*AddonStatus, error) {
	var st AddonStatus
	q := url.Values{"request_id": {requestID}}
	if _, err := c.restCall(ctx, http.MethodGet, "/addons/"+url.PathEscape(addon)+"/execute/status/", q, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitAddon polls an add-on run until it is done; "error" and "unknown"
// give a *JobError. The results are then in the target file's Appdata
// (FileInfo with IncludeAppdata).
func (c *Client) WaitAddon(ctx context.Context, addon, requestID string, opts *WaitOptions) (*AddonStatus, error) {
	ctx, cancel, every := opts.setup(ctx)
	defer cancel()
	op := "add-on " + addon + " " + requestID
	for {
		st, err := c.AddonExecutionStatus(ctx, addon, requestID)
		if err != nil {
			return nil, waitError(ctx, op, err)
		}
		switch st.Status {
		case "done":
			return st, nil
		case "error", "unknown":
			return st, &JobError{Kind: "add-on " + addon, ID: requestID, Status: st.Status}
		}
		if err := sleep(ctx, every); err != nil {
			return nil, waitError(ctx, op, err)
		}
	}
}
