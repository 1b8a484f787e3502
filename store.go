package satchel

import (
	"context"
	"time"
)

// Event is a webhook event written in the same transaction as the change that
// causes it (transactional outbox).
type Event struct {
	ID        string
	ProjectID int64
	Type      string
	// Payload is the event's JSON body.
	Payload []byte
	// Encode, when Payload is nil, makes the payload. A store calls it
	// (through Body) only for an event it keeps: an event no webhook
	// subscribes to is never encoded.
	Encode  func() ([]byte, error)
	Created time.Time
}

// Body is the event's payload: Payload, or what Encode makes (kept in
// Payload).
func (e *Event) Body() ([]byte, error) {
	if e.Payload == nil && e.Encode != nil {
		b, err := e.Encode()
		if err != nil {
			return nil, err
		}
		e.Payload = b
	}
	return e.Payload, nil
}

// Event types.
const (
	EventFileUploaded    = "file.uploaded"
	EventFileStored      = "file.stored"
	EventFileDeleted     = "file.deleted"
	EventFileInfoUpdated = "file.info_updated"
	EventFileInfected    = "file.infected"
)

// Store keeps Satchel's metadata: the union of the small interfaces below,
// one per service. Implementations: sqlstore (SQLite and PostgreSQL); all
// pass the storetest conformance suite. Consumers should ask for the small
// interfaces (or a subset of their own) rather than for Store.
//
// Events: a method that changes a file's state takes the events of that
// change and writes them in the same transaction as the change (the
// transactional outbox): CreateFiles, CompleteUploadSession, UpdateFile,
// UpdateFiles and RemoveFile. There is no other way to write an event, so a
// change cannot commit without its events nor an event without its change.
// Each written event gets, still in that transaction, one pending delivery
// (and its job) per matching active subscription (see WebhookStore).
type Store interface {
	ProjectStore
	FileStore
	FileLister
	FileSearcher
	UploadSessionStore
	FetchTaskStore
	GroupStore
	VariantStore
	SettingStore
	WebhookStore
	AddonStore
	ConversionStore
	ResourceStore

	Close() error
}

// ProjectStore keeps projects (tenants).
type ProjectStore interface {
	// CreateProject assigns p.ID; a public key in use yields ErrConflict.
	CreateProject(ctx context.Context, p *Project) error
	// UpdateProject saves p; ErrNotFound when missing, ErrConflict when
	// its public key is another project's.
	UpdateProject(ctx context.Context, p *Project) error
	ProjectByPublicKey(ctx context.Context, key string) (*Project, error)
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	Projects(ctx context.Context) ([]*Project, error)
}

// FileReader reads single files.
type FileReader interface {
	// File returns a file of a project (projectID 0: of any project).
	File(ctx context.Context, projectID int64, uuid string) (*File, error)
}

// FileStore creates, reads and changes files. Every state change takes the
// events it causes and writes them in its own transaction (see Store).
type FileStore interface {
	FileReader
	// CreateFiles inserts files and their events in one transaction.
	CreateFiles(ctx context.Context, files []*File, events []*Event) error
	// FileBySourceURL returns the newest live file of the project fetched from url.
	FileBySourceURL(ctx context.Context, projectID int64, url string) (*File, error)
	// HasBlob reports whether any file record references the blob key.
	HasBlob(ctx context.Context, key string) (bool, error)
	// ExpiredTemporaryFiles lists unstored, unremoved files uploaded before t.
	ExpiredTemporaryFiles(ctx context.Context, before time.Time, limit int) ([]*File, error)
	// ExpiredFiles lists live files whose Expires is at or before now.
	ExpiredFiles(ctx context.Context, now time.Time, limit int) ([]*File, error)
	// RemoveFile marks a file removed at t and writes events with it.
	// Removing a file (here, or with UpdateFile/UpdateFiles) queues the
	// removal of its blob in the same transaction.
	RemoveFile(ctx context.Context, uuid string, t time.Time, events []*Event) error
	// UpdateFile runs mutate on the current file in a transaction and saves
	// the result with the events mutate returns. mutate's error aborts.
	UpdateFile(ctx context.Context, projectID int64, uuid string, mutate func(f *File) ([]*Event, error)) (*File, error)
	// UpdateFiles runs mutate on several files in one transaction. Per-file
	// failures (not found, or mutate's error) leave that file unchanged and are
	// reported in errs at its index; err is for the transaction as a whole.
	UpdateFiles(ctx context.Context, projectID int64, uuids []string, mutate func(f *File) ([]*Event, error)) (files []*File, errs []error, err error)
}

// UploadSessionStore keeps multipart upload sessions and their parts.
type UploadSessionStore interface {
	CreateUploadSession(ctx context.Context, s *UploadSession) error
	UploadSession(ctx context.Context, uuid string) (*UploadSession, error)
	// PutPart records a received part (idempotent: a part written again replaces the record).
	PutPart(ctx context.Context, uuid string, n int, size int64, checksum string) error
	// Parts returns the received parts of a session by number; parts being
	// written (see ClaimPart, BeginPart) are not among them.
	Parts(ctx context.Context, uuid string) (map[int]PartRecord, error)
	// ClaimPart marks part n as being written by writer when the session has
	// no record of it yet, and reports whether it did; when it did not, prev
	// is the writer of the record in place (a received part, or one being
	// written by another request). It fails with ErrNotFound when the
	// session is gone and ErrConflict when it is being completed.
	ClaimPart(ctx context.Context, uuid string, n int, writer string) (prev string, claimed bool, err error)
	// BeginPart replaces whatever the session records of part n by a mark
	// that writer is writing it, so the part no longer counts as received
	// (errors as ClaimPart). It must come before the part's bytes change.
	BeginPart(ctx context.Context, uuid string, n int, writer string) error
	// CheckPart checks that part n is still marked as being written by
	// writer and the session is not being completed (ErrConflict otherwise).
	CheckPart(ctx context.Context, uuid string, n int, writer string) error
	// FinishPart records part n as received, with the blob store's tag of
	// the write (see PartRecord.Tag), if writer's mark is still in place;
	// ErrConflict otherwise (another write of the part superseded it, or
	// the part was dropped).
	FinishPart(ctx context.Context, uuid string, n int, writer string, size int64, checksum, tag string) error
	// DropPart forgets part n (received or being written), unless the
	// session is being completed or gone. With writers given, only a record
	// made or being made by one of them is dropped.
	DropPart(ctx context.Context, uuid string, n int, writers ...string) error
	// FenceUploadSession marks the session as being completed: from then on
	// ClaimPart and BeginPart fail with ErrConflict. It fails with
	// ErrConflict (and fences nothing) while a part is being written, and
	// with ErrNotFound when the session is gone. Fencing a fenced session
	// succeeds (a retried completion takes over).
	FenceUploadSession(ctx context.Context, uuid string) error
	// UnfenceUploadSession lifts the fence of an upload that could not be
	// completed, so its parts can be sent again.
	UnfenceUploadSession(ctx context.Context, uuid string) error
	// CompleteUploadSession deletes the session and its parts and inserts
	// the file and its events, atomically (see Store for events).
	CompleteUploadSession(ctx context.Context, uuid string, f *File, events []*Event) error
	DeleteUploadSession(ctx context.Context, uuid string) error
	ExpiredUploadSessions(ctx context.Context, now time.Time, limit int) ([]*UploadSession, error)
	// UploadSessionByUpload finds the session owning a blob-store multipart upload.
	UploadSessionByUpload(ctx context.Context, upload string) (*UploadSession, error)
}

// FetchTaskStore keeps from-URL upload tasks.
type FetchTaskStore interface {
	// CreateFetchTask inserts a task and, in the same transaction, the job
	// that runs it.
	CreateFetchTask(ctx context.Context, t *FetchTask) error
	FetchTask(ctx context.Context, token string) (*FetchTask, error)
	// StartFetchTask records that a new run of the task's job starts: it
	// counts the run in Attempts, which fences out every earlier run
	// (UpdateFetchTask), and returns the task.
	StartFetchTask(ctx context.Context, token string) (*FetchTask, error)
	// UpdateFetchTask saves a task's progress; it is fenced by t.Attempts:
	// when a later attempt has started since, it changes nothing and
	// returns ErrConflict.
	UpdateFetchTask(ctx context.Context, t *FetchTask) error
	// DeleteFetchTasksBefore forgets finished tasks last updated before t.
	DeleteFetchTasksBefore(ctx context.Context, t time.Time) error
}

// GroupStore keeps file groups.
type GroupStore interface {
	CreateGroup(ctx context.Context, g *Group) error
	// Group returns a group of a project (projectID 0: of any project).
	Group(ctx context.Context, projectID int64, id string) (*Group, error)
	ListGroups(ctx context.Context, q GroupQuery) ([]*Group, error)
	CountGroups(ctx context.Context, projectID int64) (int64, error)
	// RemoveGroup marks a group removed; its files are untouched.
	RemoveGroup(ctx context.Context, projectID int64, id string, t time.Time) error
	// StoreGroup records the time a group's files were stored.
	StoreGroup(ctx context.Context, projectID int64, id string, t time.Time) error
}

// VariantStore records the derived images kept for files.
type VariantStore interface {
	// RecordVariant notes that a derived image of a file is kept in the
	// blob store under key (so deleting the file can remove it).
	RecordVariant(ctx context.Context, fileUUID, key string) error
	// TakeVariants forgets and returns the variant keys of a file.
	TakeVariants(ctx context.Context, fileUUID string) ([]string, error)
}

// SettingStore keeps server-wide values.
type SettingStore interface {
	// Setting reads a server-wide value; ErrNotFound if unset.
	Setting(ctx context.Context, name string) (string, error)
	// SetSettingIfAbsent stores value unless one exists and returns the value in force.
	SetSettingIfAbsent(ctx context.Context, name, value string) (string, error)
}

// PartRecord is a received multipart part.
type PartRecord struct {
	Size     int64
	Checksum string
	// Writer identifies the write that stored the part (see ClaimPart).
	Writer string
	// Tag is what the blob store answered for that write (an S3 part's
	// ETag), so completion can tell a part replaced behind the write's
	// back; "" when the store has none (or the part was recorded before
	// tags were kept).
	Tag string
}

// FileQuery selects one page of a project's files, keyset-paginated.
type FileQuery struct {
	ProjectID int64
	// Stored filters on storage state; nil means both.
	Stored *bool
	// Removed selects removed files instead of live ones.
	Removed bool
	// BySize orders by size instead of upload time; Desc reverses.
	BySize bool
	Desc   bool
	// FromTime/FromSize is an exclusive cursor in the chosen order. Alone
	// it skips every file with that key; with FromUUID the cursor is the
	// pair (key, FromUUID) in the (key, uuid) order, so files sharing the
	// key are neither skipped nor repeated.
	FromTime *time.Time
	FromSize *int64
	FromUUID string
	Limit    int
	// Offset skips that many files first (pages by number; the cursors
	// above are cheaper for deep pages).
	Offset int
	// Undecoded leaves each file's JSON columns undecoded, in File.JSON,
	// for a caller that copies them into its answer as they are.
	Undecoded bool
}

// FileCounts are a project's file counters, maintained with every change.
type FileCounts struct {
	Stored, Unstored, Removed int64
}

// FileSizes are the bytes of a project's live files.
type FileSizes struct {
	StoredBytes, UnstoredBytes int64
}

// GroupQuery selects one page of a project's groups.
type GroupQuery struct {
	ProjectID int64
	Desc      bool
	// FromTime is an exclusive cursor in creation order; with FromID it is
	// the pair (created, FromID) in the (created, id) order.
	FromTime *time.Time
	FromID   string
	Limit    int
}

// FileLister lists and counts a project's files (reads only).
type FileLister interface {
	ListFiles(ctx context.Context, q FileQuery) ([]*File, error)
	FileCounts(ctx context.Context, projectID int64) (FileCounts, error)
	// FileSizes sums the sizes of the project's live (not removed) files.
	FileSizes(ctx context.Context, projectID int64) (FileSizes, error)
}

// FileSearcher searches a project's live files (reads only).
type FileSearcher interface {
	// SearchFiles returns the page of q's matches that q.Offset and
	// q.Limit select, in q's order, and how many files match (at most
	// SearchTotalCap). Only the project's live files are searched. A
	// search that takes longer than SearchTimeout fails with a
	// KindUnavailable error of ReasonSearchTimeout.
	SearchFiles(ctx context.Context, q FileSearch) (files []*File, total int64, err error)
}
