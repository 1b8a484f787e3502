package satchel

import (
	"context"
	"time"
)

// Conversion kinds.
const (
	ConvertDocument = "document"
	ConvertVideo    = "video"
)

// Conversion job statuses as the REST API reports them.
const (
	ConversionPending    = "pending"
	ConversionProcessing = "processing"
	ConversionFinished   = "finished"
	ConversionFailed     = "failed"
	ConversionCancelled  = "cancelled"
)

// Conversion is a document or video conversion job and its result. The
// result's file (and, for videos, the thumbnails group) get their ids when
// the job is accepted; the rows appear when it finishes.
type Conversion struct {
	// Token is the job's public id (a positive integer below 2^53).
	Token     int64
	ProjectID int64
	Kind      string
	// Path is the normalised conversion path "<uuid>/<kind>/<operations>";
	// converting the same path again reuses this job unless it failed.
	Path       string
	SourceUUID string
	ResultUUID string
	// ThumbsGroup is the video thumbnails group id ("<uuid>~N").
	ThumbsGroup string
	// PagesGroup is the group of every page of a document converted to an
	// image format with save_in_group ("<uuid>~N"), once finished.
	PagesGroup  string
	Store       string
	SaveInGroup bool
	Status      string
	Error       string
	// Progress is the percentage done while processing.
	Progress int
	Created  time.Time
	Updated  time.Time
	// Attempts is the number of the job attempt running the conversion;
	// updates of earlier attempts are refused (see UpdateConversion).
	Attempts int
}

// ConversionOutcome is what a finished conversion records, atomically:
// the result files, the groups made of them and the conversion's final
// state. The source file's variations gain {Path: ResultUUID}.
type ConversionOutcome struct {
	Files  []*File
	Groups []*Group
	Events []*Event
}

// ConversionStore keeps conversion jobs.
type ConversionStore interface {
	// CreateConversion inserts a conversion and, in the same transaction,
	// the job that runs it. ErrConflict when the token is taken.
	CreateConversion(ctx context.Context, c *Conversion) error
	// Conversion returns a conversion of a kind by token.
	Conversion(ctx context.Context, kind string, token int64) (*Conversion, error)
	// ReusableConversion returns the newest conversion of a project's path
	// that did not fail or get cancelled; ErrNotFound when there is none.
	ReusableConversion(ctx context.Context, projectID int64, path string) (*Conversion, error)
	// SourceConversions lists the finished conversions of a source file.
	SourceConversions(ctx context.Context, projectID int64, sourceUUID string) ([]*Conversion, error)
	// StartConversion records that attempt number attempt runs the
	// conversion and returns it; an attempt not newer than the one recorded
	// gets ErrConflict.
	StartConversion(ctx context.Context, token int64, attempt int) (*Conversion, error)
	// UpdateConversion saves a conversion's state, fenced by c.Attempts
	// (ErrConflict when a later attempt started).
	UpdateConversion(ctx context.Context, c *Conversion) error
	// FinishConversion saves the finished conversion with its outcome in
	// one transaction (fenced like UpdateConversion).
	FinishConversion(ctx context.Context, c *Conversion, out ConversionOutcome) error
}
