package addons

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// DefaultRemoveBGEndpoint is remove.bg's background removal call.
const DefaultRemoveBGEndpoint = "https://api.remove.bg/v1.0/removebg"

// maxRemoveBGBytes is the largest image remove.bg takes as a file upload.
const maxRemoveBGBytes = 22 << 20

// RemoveBGAddon is remove_bg on the remove.bg API; the result is a new PNG file.
type RemoveBGAddon struct {
	Key      string
	Endpoint string
	Client   *http.Client
}

// removeBGParams are the execution parameters (Uploadcare's names, which
// are remove.bg's).
type removeBGParams struct {
	Crop             *flexBool `json:"crop"`
	CropMargin       string    `json:"crop_margin"`
	Scale            string    `json:"scale"`
	AddShadow        *flexBool `json:"add_shadow"`
	TypeLevel        string    `json:"type_level"`
	Type             string    `json:"type"`
	Semitransparency *flexBool `json:"semitransparency"`
	Channels         string    `json:"channels"`
	ROI              string    `json:"roi"`
	Position         string    `json:"position"`
}

func (p *removeBGParams) decode(params json.RawMessage) error {
	if len(params) > 0 && string(params) != "null" {
		d := json.NewDecoder(bytes.NewReader(params))
		d.DisallowUnknownFields()
		if err := d.Decode(p); err != nil {
			return paramErrorf("Invalid params: %v", err)
		}
	}
	if p.TypeLevel != "" && !slices.Contains([]string{"none", "1", "2", "latest"}, p.TypeLevel) {
		return paramErrorf("`type_level` must be none, 1, 2 or latest.")
	}
	if p.Type != "" && !slices.Contains([]string{"auto", "person", "product", "car"}, p.Type) {
		return paramErrorf("`type` must be auto, person, product or car.")
	}
	if p.Channels != "" && !slices.Contains([]string{"rgba", "alpha"}, p.Channels) {
		return paramErrorf("`channels` must be rgba or alpha.")
	}
	return nil
}

// form lists the parameters as remove.bg's form fields.
func (p *removeBGParams) form() [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	b := func(v *flexBool) string {
		if v == nil {
			return ""
		}
		return strconv.FormatBool(bool(*v))
	}
	add("crop", b(p.Crop))
	add("crop_margin", p.CropMargin)
	add("scale", p.Scale)
	add("add_shadow", b(p.AddShadow))
	add("type_level", p.TypeLevel)
	add("type", p.Type)
	add("semitransparency", b(p.Semitransparency))
	add("channels", p.Channels)
	add("roi", p.ROI)
	add("position", p.Position)
	return out
}

// Check implements Addon.
func (r *RemoveBGAddon) Check(params json.RawMessage) error {
	if r == nil || r.Key == "" {
		return ErrNotConfigured
	}
	var p removeBGParams
	return p.decode(params)
}

// Run implements Addon: it uploads the image with the parameters, asks
// for a PNG, and answers it as a new file; data is {"foreground_type"}.
func (r *RemoveBGAddon) Run(ctx context.Context, in *Input) (*Output, error) {
	var p removeBGParams
	if err := p.decode(in.Params); err != nil {
		return nil, Permanent(err)
	}
	src, err := in.Open(ctx)
	if err != nil {
		return nil, err
	}
	img, err := io.ReadAll(io.LimitReader(src, maxRemoveBGBytes+1))
	src.Close()
	if err != nil {
		return nil, err
	}
	if len(img) > maxRemoveBGBytes {
		return nil, Permanent(fmt.Errorf("addons: image larger than remove.bg's %d bytes", maxRemoveBGBytes))
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("image_file", in.File.OriginalFilename)
	fw.Write(img)
	mw.WriteField("size", "auto")
	mw.WriteField("format", "png")
	for _, kv := range p.form() {
		mw.WriteField(kv[0], kv[1])
	}
	mw.Close()
	endpoint := r.Endpoint
	if endpoint == "" {
		endpoint = DefaultRemoveBGEndpoint
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, &body)
	if err != nil {
		return nil, Permanent(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Api-Key", r.Key)
	req.Header.Set("Accept", "image/png, application/json")
	resp, err := r.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("addons: remove.bg: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 100<<20))
	if err != nil {
		return nil, fmt.Errorf("addons: remove.bg: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// {"errors":[{"title":"…","code":"…"}]}
		var e struct {
			Errors []struct {
				Title string `json:"title"`
				Code  string `json:"code"`
			} `json:"errors"`
		}
		json.Unmarshal(out, &e)
		msg := resp.Status
		if len(e.Errors) > 0 {
			msg += ": " + e.Errors[0].Title
		}
		err := fmt.Errorf("addons: remove.bg answered %s", msg)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, err
		}
		return nil, Permanent(err)
	}
	if !bytes.HasPrefix(out, []byte("\x89PNG")) {
		return nil, Permanent(fmt.Errorf("addons: remove.bg answered %s, not a PNG", resp.Header.Get("Content-Type")))
	}
	name := strings.TrimSuffix(in.File.OriginalFilename, path.Ext(in.File.OriginalFilename)) + ".png"
	return &Output{Version: "1.0", Data: map[string]any{"foreground_type": resp.Header.Get("X-Type")},
		NewFile: &NewFile{Name: name, ContentType: "image/png", Body: out}}, nil
}
