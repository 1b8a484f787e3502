// Package jobs is Satchel's one background job system, built on River: the
// job kinds and their arguments, the River client of a node (on SQLite or
// PostgreSQL), per-project fairness slots and the heartbeat of long jobs.
//
// Jobs are inserted by the store in the transaction of the change that
// causes them (sqlstore uses Inserter), so a crash never loses or invents
// work; workers live with the services that do the work (app, webhook).
//
// Job arguments are stored (River's args column) and read by whichever
// version runs the job, possibly after an upgrade: their json tags are
// their stored format. Never change a tag; add fields with new ones.
package jobs

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queues. Each node works every queue with its own number of workers.
const (
	QueueFetch       = "fetch"
	QueueWebhook     = "webhook"
	QueueMaintenance = "maintenance"
	QueueAddon       = "addon"
)

// Job kinds.
const (
	KindFetch          = "fetch"
	KindDelivery       = "webhook_delivery"
	KindRemoveBlob     = "remove_blob"
	KindExpireFiles    = "expire_temporary_files"
	KindExpireSessions = "expire_upload_sessions"
	KindRetention      = "retention"
	KindAddon          = "addon"
)

// uniqueStates are the states in which a unique job blocks a duplicate: all
// but the finished ones, so the same work may be queued again once done.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// FetchArgs downloads a from-URL upload; its status row is the fetch task.
type FetchArgs struct {
	Token     string `json:"token"`
	ProjectID int64  `json:"project_id"`
}

// Kind implements river.JobArgs.
func (FetchArgs) Kind() string { return KindFetch }

// MaxFetchAttempts is how many times a fetch runs before its task fails;
// River allows one more run, which records that failure.
const MaxFetchAttempts = 3

// InsertOpts implements river.JobArgsWithInsertOpts: one job per task.
func (FetchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFetch, MaxAttempts: MaxFetchAttempts + 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// AddonArgs runs an add-on execution; its status row is the add-on request.
type AddonArgs struct {
	RequestID string `json:"request_id"`
	ProjectID int64  `json:"project_id"`
}

// Kind implements river.JobArgs.
func (AddonArgs) Kind() string { return KindAddon }

// MaxAddonAttempts is how many times an execution runs before it fails;
// River allows one more run, which records that failure.
const MaxAddonAttempts = 3

// InsertOpts implements river.JobArgsWithInsertOpts: one job per execution.
func (AddonArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAddon, MaxAttempts: MaxAddonAttempts + 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// DeliveryArgs sends one event to one webhook subscription; its log row is
// the delivery (satchel.Delivery), updated by every attempt.
type DeliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
	ProjectID  int64  `json:"project_id"`
	// Base is the attempts the delivery had before this job: zero for a
	// new delivery, its attempt count when it is sent again on request.
	// It also makes a redelivery's job distinct from the finished one.
	Base int `json:"base,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return KindDelivery }

// MaxDeliveryAttempts bounds River's attempts at a delivery; the webhook
// worker gives up earlier, after its own MaxAttempts.
const MaxDeliveryAttempts = 100

// InsertOpts implements river.JobArgsWithInsertOpts: one job per delivery
// (an event × a subscription).
func (DeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhook, MaxAttempts: MaxDeliveryAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// RemoveBlobArgs deletes a removed file's bytes and its derived images. It
// is retried (with River's backoff) until it succeeds.
type RemoveBlobArgs struct {
	FileUUID string `json:"file_uuid"`
	Key      string `json:"key"`
}

// Kind implements river.JobArgs.
func (RemoveBlobArgs) Kind() string { return KindRemoveBlob }

// InsertOpts implements river.JobArgsWithInsertOpts: one removal per blob.
func (RemoveBlobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1000,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// ExpireFilesArgs removes temporary (unstored) files past their lifetime.
type ExpireFilesArgs struct{}

// Kind implements river.JobArgs.
func (ExpireFilesArgs) Kind() string { return KindExpireFiles }

// ExpireSessionsArgs removes multipart upload sessions past their expiry.
type ExpireSessionsArgs struct{}

// Kind implements river.JobArgs.
func (ExpireSessionsArgs) Kind() string { return KindExpireSessions }

// RetentionArgs forgets old events, finished deliveries and from-URL tasks.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return KindRetention }

// Periodic returns a periodic job inserting args every period into the
// maintenance queue. Periodic jobs are inserted by the cluster's leader only,
// so each runs once per period in the whole cluster.
func Periodic(args river.JobArgs, every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		opts := &river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5}
		if every >= time.Second { // River's least unique period
			// A new leader's first insert does not repeat the period's job.
			opts.UniqueOpts = river.UniqueOpts{ByPeriod: every}
		}
		return args, opts
	}, &river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
}
