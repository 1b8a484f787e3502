package convert

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queues and job kinds of conversions. Documents and videos have queues of
// their own, so their concurrency is set apart from each other and from the
// CDN's image work.
const (
	QueueDocument = "convert_document"
	QueueVideo    = "convert_video"
	KindDocument  = "convert_document"
	KindVideo     = "convert_video"
)

// MaxAttempts is how many times a conversion job runs before it fails for
// good; River allows one more run, which records that failure. A conversion
// the converter refuses fails at once: only interruptions are retried.
const MaxAttempts = 3

var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// DocumentArgs runs a document conversion; its status row is the
// satchel.Conversion of Token.
type DocumentArgs struct {
	Token     int64 `json:"token"`
	ProjectID int64 `json:"project_id"`
}

// Kind implements river.JobArgs.
func (DocumentArgs) Kind() string { return KindDocument }

// InsertOpts implements river.JobArgsWithInsertOpts: one job per conversion.
func (DocumentArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDocument, MaxAttempts: MaxAttempts + 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// VideoArgs runs a video conversion; its status row is the
// satchel.Conversion of Token.
type VideoArgs struct {
	Token     int64 `json:"token"`
	ProjectID int64 `json:"project_id"`
}

// Kind implements river.JobArgs.
func (VideoArgs) Kind() string { return KindVideo }

// InsertOpts implements river.JobArgsWithInsertOpts: one job per conversion.
func (VideoArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueVideo, MaxAttempts: MaxAttempts + 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// Args returns the job arguments of a conversion of kind ("document" or
// "video").
func Args(kind string, token, projectID int64) river.JobArgs {
	if kind == "video" {
		return VideoArgs{Token: token, ProjectID: projectID}
	}
	return DocumentArgs{Token: token, ProjectID: projectID}
}
