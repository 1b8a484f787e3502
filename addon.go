package satchel

import (
	"context"
	"encoding/json"
	"time"
)

// AddonResult is one add-on's answer about a file, kept in File.Appdata
// under the add-on's name and rendered as REST 0.7 "appdata".
type AddonResult struct {
	Data    json.RawMessage `json:"data"`
	Version string          `json:"version"`
	Created time.Time       `json:"datetime_created"`
	Updated time.Time       `json:"datetime_updated"`
}

// AddonRequest is one execution of an add-on on a file; its job runs it.
type AddonRequest struct {
	ID        string
	ProjectID int64
	Addon     string
	Target    string
	// Params are the execution's parameters as JSON ("{}" when none).
	Params string
	// Status is AddonInProgress, AddonDone or AddonError.
	Status string
	// Error says why an execution failed (for operators; clients only see
	// the status).
	Error string
	// Result is the JSON "result" of the status answer ("" when none).
	Result  string
	Created time.Time
	Updated time.Time
}

// Add-on execution statuses.
const (
	AddonInProgress = "in_progress"
	AddonDone       = "done"
	AddonError      = "error"
)

// AddonStore keeps add-on executions.
type AddonStore interface {
	// CreateAddonRequest inserts an execution and, in the same transaction,
	// the job that runs it; ErrConflict when the same add-on is already in
	// progress on the target.
	CreateAddonRequest(ctx context.Context, r *AddonRequest) error
	// AddonRequest returns an execution of a project.
	AddonRequest(ctx context.Context, projectID int64, id string) (*AddonRequest, error)
	// FinishAddonRequest records an execution's outcome (status, error,
	// result, updated).
	FinishAddonRequest(ctx context.Context, r *AddonRequest) error
}
