package addons

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/satchel-project/satchel"
)

// Add-on names the Uploadcare clients know.
const (
	ClamAV                = "uc_clamav_virus_scan"
	RekognitionLabels     = "aws_rekognition_detect_labels"
	RekognitionModeration = "aws_rekognition_detect_moderation_labels"
	RemoveBG              = "remove_bg"
)

// Input is what an add-on gets to work on.
type Input struct {
	File *satchel.File
	// Open reads the file's bytes.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// URL is a short-lived CDN URL of the file.
	URL string
	// Params are the execution's parameters ("{}" when none).
	Params json.RawMessage
	// RequestID identifies the execution.
	RequestID string
}

// Output is an add-on's answer.
type Output struct {
	// Version and Data are kept in the file's appdata under the add-on's name.
	Version string
	Data    any
	// Infected marks a virus found (file.infected); Purge asks for the file
	// to be deleted.
	Infected bool
	Purge    bool
	// NewFile is a file the add-on made (remove_bg), uploaded to the project.
	NewFile *NewFile
}

// NewFile is a file an add-on made.
type NewFile struct {
	Name        string
	ContentType string
	Body        []byte
}

// Addon runs one add-on.
type Addon interface {
	// Check validates the parameters before an execution is queued; it
	// returns ErrNotConfigured when the operator has not set the add-on up,
	// and a *ParamError for bad parameters.
	Check(params json.RawMessage) error
	// Run executes the add-on. Errors marked Permanent end the execution;
	// others are retried a few times.
	Run(ctx context.Context, in *Input) (*Output, error)
}

// ParamError is a bad execution parameter.
type ParamError struct{ Msg string }

func (e *ParamError) Error() string { return e.Msg }

func paramErrorf(format string, args ...any) error {
	return &ParamError{Msg: fmt.Sprintf(format, args...)}
}

// PermanentError is a failure that retrying would not change (bad
// credentials, a rejected file).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// decodeParams reads params into v, rejecting unknown fields.
func decodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	if err := json.Unmarshal(params, v); err != nil {
		return paramErrorf("Invalid params: %v", err)
	}
	return nil
}

// ClamAVAddon is uc_clamav_virus_scan on a clamd.
type ClamAVAddon struct{ Clamd *Clamd }

type clamParams struct {
	PurgeInfected flexBool `json:"purge_infected"`
}

// flexBool accepts true/false and "true"/"false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`, `"1"`, "1":
		*b = true
	case "false", `"false"`, `"0"`, "0", "null":
		*b = false
	default:
		return fmt.Errorf("expected a boolean, got %s", data)
	}
	return nil
}

// Check implements Addon.
func (a *ClamAVAddon) Check(params json.RawMessage) error {
	if a == nil || a.Clamd == nil {
		return ErrNotConfigured
	}
	var p clamParams
	return decodeParams(params, &p)
}

// Run implements Addon: data is {"infected":bool,"infected_with":name}.
func (a *ClamAVAddon) Run(ctx context.Context, in *Input) (*Output, error) {
	var p clamParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, Permanent(err)
	}
	ver, err := a.Clamd.Version(ctx)
	if err != nil {
		return nil, err
	}
	body, err := in.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	res, err := a.Clamd.Scan(ctx, body)
	if errors.Is(err, ErrTooLarge) {
		return nil, Permanent(err)
	}
	if err != nil {
		return nil, err
	}
	data := map[string]any{"infected": res.Infected}
	if res.Infected {
		data["infected_with"] = res.Signature
	}
	return &Output{Version: ver, Data: data, Infected: res.Infected, Purge: res.Infected && bool(p.PurgeInfected)}, nil
}
