package addons

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SignatureHeader carries the signature of a custom add-on request:
// "v1=" and the lowercase hex HMAC-SHA256 of the raw body keyed with the
// operator's secret (docs/addons.md).
const SignatureHeader = "X-Satchel-Signature"

// VersionHeader may name the version of a custom add-on's answer.
const VersionHeader = "X-Addon-Version"

// maxAnswer caps a custom add-on's answer.
const maxAnswer = 1 << 20

// Custom is an operator-defined add-on reached over HTTP.
type Custom struct {
	Name     string
	Endpoint string
	Secret   string
	Client   *http.Client
}

// ParseCustom reads "name=url,name2=url2" (SATCHEL_ADDONS).
func ParseCustom(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, endpoint, ok := strings.Cut(item, "=")
		u, err := url.Parse(endpoint)
		if !ok || name == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("addons: %q: want name=http(s)://host/path", item)
		}
		switch name {
		case ClamAV, RekognitionLabels, RekognitionModeration, RemoveBG:
			return nil, fmt.Errorf("addons: %q is a built-in add-on", name)
		}
		out[name] = endpoint
	}
	return out, nil
}

// Check implements Addon: any JSON object is accepted.
func (c *Custom) Check(params json.RawMessage) error {
	var v map[string]any
	return decodeParams(params, &v)
}

// customRequest is the body Satchel sends to a custom add-on.
type customRequest struct {
	Addon     string          `json:"addon"`
	RequestID string          `json:"request_id"`
	Timestamp int64           `json:"timestamp"`
	File      customFile      `json:"file"`
	Params    json.RawMessage `json:"params"`
}

type customFile struct {
	UUID             string `json:"uuid"`
	URL              string `json:"url"`
	Size             int64  `json:"size"`
	MimeType         string `json:"mime_type"`
	OriginalFilename string `json:"original_filename"`
}

// Sign returns the signature header value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Run implements Addon: it POSTs the signed request and keeps the JSON
// object answered as the add-on's data. 4xx answers end the execution;
// 5xx, 429 and network failures are retried.
func (c *Custom) Run(ctx context.Context, in *Input) (*Output, error) {
	params := in.Params
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	f := in.File
	body, err := json.Marshal(customRequest{Addon: c.Name, RequestID: in.RequestID, Timestamp: time.Now().Unix(), Params: params,
		File: customFile{UUID: f.UUID, URL: in.URL, Size: f.Size, MimeType: f.MimeType, OriginalFilename: f.OriginalFilename}})
	if err != nil {
		return nil, Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Satchel")
	if c.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(c.Secret, body))
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("addons: %s: %w", c.Name, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("addons: %s: read answer: %w", c.Name, err)
	}
	if resp.StatusCode/100 != 2 {
		err := fmt.Errorf("addons: %s answered %s", c.Name, resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, err
		}
		return nil, Permanent(err)
	}
	if len(answer) > maxAnswer {
		return nil, Permanent(fmt.Errorf("addons: %s: answer larger than %d bytes", c.Name, maxAnswer))
	}
	var data map[string]any
	if err := json.Unmarshal(answer, &data); err != nil {
		return nil, Permanent(fmt.Errorf("addons: %s: answer is not a JSON object: %w", c.Name, err))
	}
	version := resp.Header.Get(VersionHeader)
	if version == "" {
		version = "1"
	}
	return &Output{Version: version, Data: json.RawMessage(answer)}, nil
}

// Config sets up the add-ons of a server.
type Config struct {
	// ClamdAddr is "unix:/path" or "tcp:host:port" (uc_clamav_virus_scan).
	ClamdAddr string
	// ClamdMaxSize is the most bytes sent to clamd (default 25 MiB).
	ClamdMaxSize int64
	// AWSRegion and RekognitionEndpoint set up the Rekognition add-ons
	// (credentials come from the AWS SDK's usual sources).
	AWSRegion           string
	RekognitionEndpoint string
	// RemoveBGKey and RemoveBGEndpoint set up remove_bg.
	RemoveBGKey      string
	RemoveBGEndpoint string
	// Custom is "name=url,…"; CustomSecret signs their requests.
	Custom       string
	CustomSecret string
	// Timeout bounds one call of an HTTP add-on (default 1 minute).
	Timeout time.Duration
}

// New returns the add-ons cfg sets up, by name.
func New(ctx context.Context, cfg Config) (map[string]Addon, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	client := &http.Client{Timeout: cfg.Timeout}
	out := map[string]Addon{}
	if cfg.ClamdAddr != "" {
		c, err := NewClamd(cfg.ClamdAddr)
		if err != nil {
			return nil, err
		}
		if cfg.ClamdMaxSize > 0 {
			c.MaxSize = cfg.ClamdMaxSize
		}
		out[ClamAV] = &ClamAVAddon{Clamd: c}
	}
	if cfg.AWSRegion != "" {
		rc, err := NewRekognitionClient(ctx, cfg.AWSRegion, cfg.RekognitionEndpoint)
		if err != nil && !errors.Is(err, ErrNotConfigured) {
			return nil, err
		}
		if err == nil {
			out[RekognitionLabels] = &Rekognition{Client: rc}
			out[RekognitionModeration] = &Rekognition{Client: rc, Moderation: true}
		}
	}
	if cfg.RemoveBGKey != "" {
		out[RemoveBG] = &RemoveBGAddon{Key: cfg.RemoveBGKey, Endpoint: cfg.RemoveBGEndpoint, Client: client}
	}
	custom, err := ParseCustom(cfg.Custom)
	if err != nil {
		return nil, err
	}
	for name, endpoint := range custom {
		out[name] = &Custom{Name: name, Endpoint: endpoint, Secret: cfg.CustomSecret, Client: client}
	}
	return out, nil
}
