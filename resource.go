package satchel

import (
	"context"
	"time"
)

// Resource kinds of the JSON:API v1 dialect.
const (
	ResourceFile    = "file"
	ResourceGroup   = "group"
	ResourceWebhook = "webhook"
)

// Resource is the record an API dialect with its own identifiers keeps for
// one of its resources (the JSON:API v1 "f-…", "g-…" ids): what it maps to
// and the hash of its access token.
type Resource struct {
	// ID is the dialect's id ("f-…", "g-…", "w-…").
	ID        string
	ProjectID int64
	// Kind is ResourceFile, ResourceGroup or ResourceWebhook.
	Kind string
	// TokenHash is the hex SHA-256 of the resource's access token ("" if none).
	TokenHash string
	// Target is the file UUID or group id the resource stands for, once known.
	Target string
	// State is the dialect's own JSON (pending fetch, chunking, webhooks…).
	State   string
	Created time.Time
	Removed *time.Time
}

// ResourceStore keeps the dialect resources.
type ResourceStore interface {
	CreateResource(ctx context.Context, r *Resource) error
	// Resource returns a resource of a project by id (removed ones too).
	Resource(ctx context.Context, projectID int64, id string) (*Resource, error)
	// ResourceByToken finds the live resource whose token hashes to tokenHash.
	ResourceByToken(ctx context.Context, tokenHash string) (*Resource, error)
	// ResourceByTarget finds the live resource of a kind standing for target.
	ResourceByTarget(ctx context.Context, projectID int64, kind, target string) (*Resource, error)
	// UpdateResource saves Target, State and Removed.
	UpdateResource(ctx context.Context, r *Resource) error
	// ListResources pages through a project's live resources of a kind,
	// newest first, and counts them all.
	ListResources(ctx context.Context, projectID int64, kind string, offset, limit int) ([]*Resource, int64, error)
	// ListPendingFiles pages through a project's live file resources that
	// stand for no file (removed or not) yet: URL fetches and chunked
	// uploads still under way, or failed. Newest first, and counts them all.
	ListPendingFiles(ctx context.Context, projectID int64, offset, limit int) ([]*Resource, int64, error)
	// FileListing reads one page of a project's file listing in one
	// snapshot of the store: the pending files (as ListPendingFiles) first,
	// then the project's live files, newest first (as ListFiles), from
	// offset, at most limit in all, with the counts of both as of the same
	// moment. A file cannot be both pending and live in one snapshot.
	FileListing(ctx context.Context, projectID int64, offset, limit int) (*FileListing, error)
	// ListUntargeted pages through the live resources of a kind, of every
	// project, that stand for nothing yet (Target ""), by id after the
	// cursor after.
	ListUntargeted(ctx context.Context, kind, after string, limit int) ([]*Resource, error)
}

// FileListing is one page of a project's file listing read in one snapshot
// (see ResourceStore.FileListing).
type FileListing struct {
	// Pending are the page's pending file resources, newest first.
	Pending []*Resource
	// PendingCount counts every pending file resource of the project.
	PendingCount int64
	// Files are the page's live files after the pending ones, newest first.
	Files []*File
	// Counts are the project's file counters.
	Counts FileCounts
}

// Count is the number of entries of the whole listing: the pending files
// and the live (stored or not) ones.
func (l *FileListing) Count() int64 {
	return l.PendingCount + l.Counts.Stored + l.Counts.Unstored
}
