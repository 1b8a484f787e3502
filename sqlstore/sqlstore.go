// Package sqlstore implements satchel.Store on SQL databases. The embedded
// default is SQLite (modernc.org/sqlite, WAL, synchronous=FULL: a committed
// record survives power loss); the queries are written to be portable.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/jobs"
	"modernc.org/sqlite" // SQLite driver
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is a satchel.Store on SQL.
type DB struct {
	// wdb is the writer pool (one connection on SQLite, which allows one
	// writer); rdb serves reads concurrently. w and r run queries on them.
	wdb, rdb *sql.DB
	w, r     execer
	// wsc and rsc are the prepared statements of wdb and rdb (nil on
	// PostgreSQL, whose driver caches statements itself).
	wsc, rsc *stmtCache
	pg       bool
	dsn      string
	// jobs inserts River jobs in the store's transactions.
	jobs jobs.Inserter

	batch     chan *createReq
	batchDone chan struct{}
	// batchCommits counts the group commits (transactions of CreateFiles).
	batchCommits atomic.Int64
	// closeMu guards sends on batch against Close: senders hold it shared.
	closeMu sync.RWMutex
	closed  bool

	// snapshotHook, if set (by tests), runs in FileListing between its
	// reads.
	snapshotHook func()
}

// ErrClosed is returned by writes that arrive after Close.
var ErrClosed = errors.New("sqlstore: store is closed")

var _ satchel.Store = (*DB)(nil)

// OpenSQLite opens (creating and migrating) the SQLite database at path.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open reader: %w", err)
	}
	r.SetMaxOpenConns(8)
	return open(ctx, w, r, false, "")
}

func open(ctx context.Context, w, r *sql.DB, pg bool, dsn string) (*DB, error) {
	db := &DB{wdb: w, rdb: r, pg: pg, dsn: dsn}
	if !pg {
		db.wsc, db.rsc = newStmtCache(w), newStmtCache(r)
	}
	db.w, db.r = execer{c: w, pg: pg, sc: db.wsc}, execer{c: r, pg: pg, sc: db.rsc}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	// River's tables live next to ours, and its jobs are inserted in our
	// transactions.
	if err := jobs.Migrate(ctx, db.JobsDB(), nil); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	ins, err := jobs.NewInserter(db.JobsDB())
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	db.jobs = ins
	db.startBatcher()
	return db, nil
}

// Close implements satchel.Store. Group commits already queued are
// committed first; CreateFiles after Close fails with ErrClosed.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	close(db.batch)
	db.closeMu.Unlock()
	<-db.batchDone
	if !db.pg {
		db.wsc.close()
		db.rsc.close()
	}
	err1 := db.wdb.Close()
	var err2 error
	if db.rdb != db.wdb {
		err2 = db.rdb.Close()
	}
	return errors.Join(err1, err2)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: marshal %T: %v", v, err))
	}
	return string(b)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return satchel.ErrNotFound
	}
	return err
}

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// isUniqueViolation reports whether err is a unique or primary key
// constraint violation, by the driver's error code.
func isUniqueViolation(err error) bool {
	var le *sqlite.Error
	if errors.As(err, &le) {
		return le.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || le.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}

// JobsDB is the database the job system shares with the store: its writer
// pool (on SQLite the one connection, which River shares).
func (db *DB) JobsDB() jobs.DB { return jobs.DB{SQL: db.wdb, PG: db.pg, DSN: db.dsn} }

// tx runs fn in a write transaction.
func (db *DB) tx(ctx context.Context, fn func(execer) error) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if db.wsc != nil {
		// Statements first met in fn are prepared once the connection is
		// back in the pool.
		defer db.wsc.prepareWanted(ctx)
	}
	return db.run(tx, fn)
}

// run runs fn in the write transaction tx and commits it (or rolls it back
// when fn fails).
func (db *DB) run(tx *sql.Tx, fn func(execer) error) error {
	if err := fn(execer{c: tx, pg: db.pg, tx: tx, ins: db.jobs, sc: db.wsc}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// txRelaxed runs fn in a write transaction whose commit need not be durable
// on its own: nothing it writes may be lost in a crash in a way that
// matters, because what depends on it is made durable by a later commit of
// the same writer. That later commit makes it durable too, for the log is
// flushed in order: on PostgreSQL the transaction commits with
// synchronous_commit off (WAL flushed by the next synchronous commit); on
// SQLite the writer connection commits it with synchronous=NORMAL (frames
// appended to the WAL without an fsync, which the next synchronous=FULL
// commit's fsync covers) and is set back to FULL at once, or closed if that
// fails, so no other transaction ever runs relaxed.
func (db *DB) txRelaxed(ctx context.Context, fn func(execer) error) error {
	if db.pg {
		return db.tx(ctx, func(tx execer) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return fmt.Errorf("sqlstore: relax commit: %w", err)
			}
			return fn(tx)
		})
	}
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: writer: %w", err)
	}
	defer db.wsc.prepareWanted(ctx)
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous=NORMAL`); err != nil {
		return fmt.Errorf("sqlstore: relax commit: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous=FULL`); err != nil {
			// Never hand a relaxed connection back to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	return db.run(tx, fn)
}

// snapshot runs fn in a read-only transaction on the reader pool, so that
// every query of fn sees the same state of the database: on PostgreSQL at
// REPEATABLE READ (one snapshot for the transaction), on SQLite in WAL mode
// a read transaction (its snapshot taken at the first read).
func (db *DB) snapshot(ctx context.Context, fn func(execer) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	if db.rsc != nil {
		// Statements first met in fn are prepared once the connection is
		// back in the pool.
		defer db.rsc.prepareWanted(ctx)
	}
	tx, err := db.rdb.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlstore: begin read: %w", err)
	}
	defer tx.Rollback()
	if err := fn(execer{c: tx, pg: db.pg, tx: tx, sc: db.rsc}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: end read: %w", err)
	}
	return nil
}

// Projects.

const projectCols = `id, name, public_key, secret_key, autostore, signed_uploads, max_file_size, allowed_types, created, storages, secure_secret, no_conversion, anonymous_uploads, anonymous_rate_limit, anonymous_max_file_size, anonymous_types`

func scanProject(row rowScanner) (*satchel.Project, error) {
	var p satchel.Project
	var types, storages, anonTypes string
	var created int64
	if err := row.Scan(&p.ID, &p.Name, &p.PublicKey, &p.SecretKey, &p.Autostore, &p.SignedUploads, &p.MaxFileSize, &types, &created, &storages, &p.SecureDeliverySecret, &p.NoConversion,
		&p.AnonymousUploads, &p.AnonymousRateLimit, &p.AnonymousMaxFileSize, &anonTypes); err != nil {
		return nil, notFound(err)
	}
	if err := json.Unmarshal([]byte(storages), &p.Storages); err != nil {
		return nil, fmt.Errorf("sqlstore: project %d storages: %w", p.ID, err)
	}
	p.Created = fromMicros(created)
	if err := json.Unmarshal([]byte(types), &p.AllowedTypes); err != nil {
		return nil, fmt.Errorf("sqlstore: project %d allowed types: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(anonTypes), &p.AnonymousTypes); err != nil {
		return nil, fmt.Errorf("sqlstore: project %d anonymous types: %w", p.ID, err)
	}
	return &p, nil
}

// anonymousTypes is p.AnonymousTypes as stored: never null.
func anonymousTypes(p *satchel.Project) []string {
	if p.AnonymousTypes == nil {
		return []string{}
	}
	return p.AnonymousTypes
}

// CreateProject implements satchel.Store.
func (db *DB) CreateProject(ctx context.Context, p *satchel.Project) error {
	if p.Created.IsZero() {
		p.Created = time.Now().UTC()
	}
	if p.AllowedTypes == nil {
		p.AllowedTypes = []string{}
	}
	if p.Storages == nil {
		p.Storages = map[string]string{}
	}
	err := db.w.QueryRowContext(ctx, `INSERT INTO projects (name, public_key, secret_key, autostore, signed_uploads, max_file_size, allowed_types, created, storages, secure_secret, no_conversion, anonymous_uploads, anonymous_rate_limit, anonymous_max_file_size, anonymous_types)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.Name, p.PublicKey, p.SecretKey, p.Autostore, p.SignedUploads, p.MaxFileSize, mustJSON(p.AllowedTypes), micros(p.Created), mustJSON(p.Storages), p.SecureDeliverySecret, p.NoConversion,
		p.AnonymousUploads, p.AnonymousRateLimit, p.AnonymousMaxFileSize, mustJSON(anonymousTypes(p))).Scan(&p.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: project key %s: %w", p.PublicKey, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create project: %w", err)
	}
	return nil
}

// UpdateProject implements satchel.Store.
func (db *DB) UpdateProject(ctx context.Context, p *satchel.Project) error {
	if p.AllowedTypes == nil {
		p.AllowedTypes = []string{}
	}
	if p.Storages == nil {
		p.Storages = map[string]string{}
	}
	res, err := db.w.ExecContext(ctx, `UPDATE projects SET name=?, public_key=?, secret_key=?, autostore=?, signed_uploads=?, max_file_size=?, allowed_types=?, storages=?, secure_secret=?, no_conversion=?,
		anonymous_uploads=?, anonymous_rate_limit=?, anonymous_max_file_size=?, anonymous_types=? WHERE id=?`,
		p.Name, p.PublicKey, p.SecretKey, p.Autostore, p.SignedUploads, p.MaxFileSize, mustJSON(p.AllowedTypes), mustJSON(p.Storages), p.SecureDeliverySecret, p.NoConversion,
		p.AnonymousUploads, p.AnonymousRateLimit, p.AnonymousMaxFileSize, mustJSON(anonymousTypes(p)), p.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: project key %s: %w", p.PublicKey, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update project: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return satchel.ErrNotFound
	}
	return nil
}

// ProjectByPublicKey implements satchel.Store.
func (db *DB) ProjectByPublicKey(ctx context.Context, key string) (*satchel.Project, error) {
	return scanProject(db.r.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE public_key=?`, key))
}

// ProjectByID implements satchel.Store.
func (db *DB) ProjectByID(ctx context.Context, id int64) (*satchel.Project, error) {
	return scanProject(db.r.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE id=?`, id))
}

// Projects implements satchel.Store.
func (db *DB) Projects(ctx context.Context) ([]*satchel.Project, error) {
	return queryAll(ctx, db.r, "list projects", scanProject, `SELECT `+projectCols+` FROM projects ORDER BY id`)
}

// Files.

const fileCols = `uuid, project_id, size, mime_type, original_filename, filename, blob_key, checksum, is_image, is_ready, uploaded, stored, removed, source, source_url, content_info, metadata, tags, expires, original_protected, variations, appdata`

func scanFile(row rowScanner) (*satchel.File, error) {
	f, err := scanFileJSON(row)
	if err != nil {
		return nil, err
	}
	j := f.JSON
	if err := f.DecodeJSON(); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	*j = satchel.FileJSON{} // allocated with f: let the strings go
	return f, nil
}

// scanFileJSON reads a file row (fileCols), leaving its content info,
// metadata, tags and appdata undecoded in f.JSON.
func scanFileJSON(row rowScanner) (*satchel.File, error) {
	fj := new(struct { // one allocation for both
		f satchel.File
		j satchel.FileJSON
	})
	f, j := &fj.f, &fj.j
	var uploaded int64
	var stored, removed, expires sql.NullInt64
	var vars string
	if err := row.Scan(&f.UUID, &f.ProjectID, &f.Size, &f.MimeType, &f.OriginalFilename, &f.Filename, &f.BlobKey, &f.Checksum,
		&f.IsImage, &f.IsReady, &uploaded, &stored, &removed, &f.Source, &f.SourceURL, &j.ContentInfo, &j.Metadata, &j.Tags, &expires, &f.OriginalProtected, &vars, &j.Appdata); err != nil {
		return nil, notFound(err)
	}
	f.Expires = timePtr(expires)
	f.Uploaded = fromMicros(uploaded)
	f.Stored = timePtr(stored)
	f.Removed = timePtr(removed)
	f.JSON = j
	if vars != "" {
		if err := json.Unmarshal([]byte(vars), &f.Variations); err != nil {
			return nil, fmt.Errorf("sqlstore: file %s variations: %w", f.UUID, err)
		}
	}
	return f, nil
}

func insertFile(ctx context.Context, tx execer, f *satchel.File) error {
	if err := insertFileRow(ctx, tx, f); err != nil {
		return err
	}
	s, u, r := fileState(f)
	return addCounts(ctx, tx, f.ProjectID, s, u, r)
}

// fileRow is the placeholders of one row of fileCols.
const fileRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// fileArgs appends the values of f's row, in the order of fileCols, to
// args. A nil Metadata or Tags is set to an empty one first.
func fileArgs(args []any, f *satchel.File) []any {
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	if f.Tags == nil {
		f.Tags = []string{}
	}
	return append(args, f.UUID, f.ProjectID, f.Size, f.MimeType, f.OriginalFilename, f.Filename, f.BlobKey, f.Checksum, f.IsImage, f.IsReady,
		micros(f.Uploaded), nullMicros(f.Stored), nullMicros(f.Removed), f.Source, f.SourceURL, mustJSON(f.ContentInfo), mustJSON(f.Metadata), mustJSON(f.Tags),
		nullMicros(f.Expires), f.OriginalProtected, variationsJSON(f.Variations), appdataJSON(f.Appdata))
}

// insertFileRow inserts f's row without counting it (see insertFile).
func insertFileRow(ctx context.Context, tx execer, f *satchel.File) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO files (`+fileCols+`) VALUES `+fileRow, fileArgs(nil, f)...)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: file %s: %w", f.UUID, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: insert file: %w", err)
	}
	return nil
}

// eventRow is an event being inserted.
type eventRow struct{ *satchel.Event }

// insertEvents writes the events some active webhook subscribes to, with
// their deliveries. An event nobody is subscribed to has nothing to
// deliver: it is neither encoded nor written (the common case, and a third
// of a small upload's database work otherwise). The subscriptions are
// read once per project of the events.
func insertEvents(ctx context.Context, tx execer, events []*satchel.Event) error {
	var subs map[int64][]string
	for _, e := range events {
		if e.Created.IsZero() {
			e.Created = time.Now().UTC()
		}
		types, ok := subs[e.ProjectID]
		if !ok {
			var err error
			types, err = queryAll(ctx, tx, "subscribed events", func(r rowScanner) (string, error) {
				var t string
				return t, r.Scan(&t)
			}, `SELECT DISTINCT event FROM webhooks WHERE project_id = ? AND is_active`, e.ProjectID)
			if err != nil {
				return err
			}
			if subs == nil {
				subs = map[int64][]string{}
			}
			subs[e.ProjectID] = types
		}
		if !slices.Contains(types, e.Type) {
			continue
		}
		payload, err := e.Body()
		if err != nil {
			return fmt.Errorf("sqlstore: event payload: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, project_id, type, payload, created) VALUES (?, ?, ?, ?, ?)`,
			e.ID, e.ProjectID, e.Type, string(payload), micros(e.Created)); err != nil {
			return fmt.Errorf("sqlstore: insert event: %w", err)
		}
		if err := insertDeliveries(ctx, tx, eventRow{e}); err != nil {
			return err
		}
	}
	return nil
}

// CreateFiles implements satchel.Store.
// Concurrent calls are committed together (group commit).
func (db *DB) CreateFiles(ctx context.Context, files []*satchel.File, events []*satchel.Event) error {
	r := &createReq{ctx: ctx, files: files, events: events, done: make(chan error, 1)}
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return ErrClosed
	}
	db.batch <- r
	db.closeMu.RUnlock()
	return <-r.done
}

// File implements satchel.Store.
func (db *DB) File(ctx context.Context, projectID int64, uuid string) (*satchel.File, error) {
	f, err := scanFile(db.r.QueryRowContext(ctx, `SELECT `+fileCols+` FROM files WHERE uuid=?`, uuid))
	if err != nil {
		return nil, err
	}
	if projectID != 0 && f.ProjectID != projectID {
		return nil, satchel.ErrNotFound
	}
	return f, nil
}

// FileBySourceURL implements satchel.Store.
func (db *DB) FileBySourceURL(ctx context.Context, projectID int64, url string) (*satchel.File, error) {
	return scanFile(db.r.QueryRowContext(ctx, `SELECT `+fileCols+` FROM files
		WHERE project_id=? AND source_url=? AND removed IS NULL ORDER BY uploaded DESC LIMIT 1`, projectID, url))
}

// HasBlob implements satchel.Store.
func (db *DB) HasBlob(ctx context.Context, key string) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM files WHERE blob_key=? LIMIT 1`, key).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: has blob: %w", err)
	}
	return true, nil
}

// ExpiredTemporaryFiles implements satchel.Store.
func (db *DB) ExpiredTemporaryFiles(ctx context.Context, before time.Time, limit int) ([]*satchel.File, error) {
	return queryAll(ctx, db.r, "expired files", scanFile, `SELECT `+fileCols+` FROM files WHERE stored IS NULL AND removed IS NULL AND uploaded < ? ORDER BY uploaded LIMIT ?`, micros(before), limit)
}

// ExpiredFiles implements satchel.Store.
func (db *DB) ExpiredFiles(ctx context.Context, now time.Time, limit int) ([]*satchel.File, error) {
	return queryAll(ctx, db.r, "expiring files", scanFile, `SELECT `+fileCols+` FROM files WHERE expires IS NOT NULL AND removed IS NULL AND expires <= ? ORDER BY expires LIMIT ?`, micros(now), limit)
}

// RemoveFile implements satchel.Store.
func (db *DB) RemoveFile(ctx context.Context, uuid string, t time.Time, events []*satchel.Event) error {
	_, err := db.UpdateFile(ctx, 0, uuid, func(f *satchel.File) ([]*satchel.Event, error) {
		if f.Removed != nil {
			return nil, satchel.ErrNotFound
		}
		f.Removed, f.Stored = &t, nil
		return events, nil
	})
	return err
}

// Upload sessions.

const sessionCols = `uuid, project_id, size, part_size, content_type, original_filename, store, metadata, tags, source, created, expires, upload, file_expires, original_protected`

func scanSession(row rowScanner) (*satchel.UploadSession, error) {
	var s satchel.UploadSession
	var md, tags string
	var created, expires int64
	var fileExpires sql.NullInt64
	if err := row.Scan(&s.UUID, &s.ProjectID, &s.Size, &s.PartSize, &s.ContentType, &s.OriginalFilename, &s.Store, &md, &tags, &s.Source, &created, &expires, &s.Upload,
		&fileExpires, &s.OriginalProtected); err != nil {
		return nil, notFound(err)
	}
	s.FileExpires = timePtr(fileExpires)
	s.Created, s.Expires = fromMicros(created), fromMicros(expires)
	if err := json.Unmarshal([]byte(md), &s.Metadata); err != nil {
		return nil, fmt.Errorf("sqlstore: session metadata: %w", err)
	}
	if err := json.Unmarshal([]byte(tags), &s.Tags); err != nil {
		return nil, fmt.Errorf("sqlstore: session tags: %w", err)
	}
	return &s, nil
}

// CreateUploadSession implements satchel.Store.
func (db *DB) CreateUploadSession(ctx context.Context, s *satchel.UploadSession) error {
	if s.Metadata == nil {
		s.Metadata = map[string]string{}
	}
	if s.Tags == nil {
		s.Tags = []string{}
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO upload_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.UUID, s.ProjectID, s.Size, s.PartSize, s.ContentType, s.OriginalFilename, s.Store, mustJSON(s.Metadata), mustJSON(s.Tags), s.Source,
		micros(s.Created), micros(s.Expires), s.Upload, nullMicros(s.FileExpires), s.OriginalProtected)
	if err != nil {
		return fmt.Errorf("sqlstore: create upload session: %w", err)
	}
	return nil
}

// UploadSession implements satchel.Store.
func (db *DB) UploadSession(ctx context.Context, uuid string) (*satchel.UploadSession, error) {
	return scanSession(db.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM upload_sessions WHERE uuid=?`, uuid))
}

// UploadSessionByUpload implements satchel.Store.
func (db *DB) UploadSessionByUpload(ctx context.Context, upload string) (*satchel.UploadSession, error) {
	return scanSession(db.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM upload_sessions WHERE upload=?`, upload))
}

// PutPart implements satchel.Store.
func (db *DB) PutPart(ctx context.Context, uuid string, n int, size int64, checksum string) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO upload_parts (session_uuid, n, size, checksum, writer, writing) VALUES (?, ?, ?, ?, '', FALSE)
		ON CONFLICT (session_uuid, n) DO UPDATE SET size=excluded.size, checksum=excluded.checksum, writer='', writing=FALSE, blob_tag=''`, uuid, n, size, checksum)
	if err != nil {
		return fmt.Errorf("sqlstore: put part: %w", err)
	}
	return nil
}

// Parts implements satchel.Store.
func (db *DB) Parts(ctx context.Context, uuid string) (map[int]satchel.PartRecord, error) {
	rows, err := db.w.QueryContext(ctx, `SELECT n, size, checksum, writer, blob_tag FROM upload_parts WHERE session_uuid=? AND NOT writing`, uuid)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: parts: %w", err)
	}
	defer rows.Close()
	out := map[int]satchel.PartRecord{}
	for rows.Next() {
		var n int
		var p satchel.PartRecord
		if err := rows.Scan(&n, &p.Size, &p.Checksum, &p.Writer, &p.Tag); err != nil {
			return nil, fmt.Errorf("sqlstore: scan part: %w", err)
		}
		out[n] = p
	}
	return out, rows.Err()
}

// lockOpenSession locks the session row for the rest of tx (on PostgreSQL;
// SQLite write transactions are serial anyway) and checks that it exists
// and is not being completed. Every change of parts that must not cross a
// fence goes through it, and FenceUploadSession updates the same row first,
// so the two are ordered.
func lockOpenSession(ctx context.Context, tx execer, uuid string) error {
	res, err := tx.ExecContext(ctx, `UPDATE upload_sessions SET completing=completing WHERE uuid=? AND completing=0`, uuid)
	if err != nil {
		return fmt.Errorf("sqlstore: lock session: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM upload_sessions WHERE uuid=?`, uuid).Scan(&one); err != nil {
		if err := notFound(err); satchel.IsNotFound(err) {
			return err
		}
		return fmt.Errorf("sqlstore: session: %w", err)
	}
	return satchel.ErrConflict
}

// ClaimPart implements satchel.Store. Its commit is relaxed (txRelaxed): a
// claim lost in a crash leaves the part unrecorded, and the write it let
// through was never acknowledged; FinishPart's durable commit makes it
// durable with the part's record.
func (db *DB) ClaimPart(ctx context.Context, uuid string, n int, writer string) (string, bool, error) {
	var prev string
	var claimed bool
	err := db.txRelaxed(ctx, func(tx execer) error {
		if err := lockOpenSession(ctx, tx, uuid); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO upload_parts (session_uuid, n, size, checksum, writer, writing) VALUES (?, ?, 0, '', ?, TRUE)
			ON CONFLICT (session_uuid, n) DO NOTHING`, uuid, n, writer)
		if err != nil {
			return fmt.Errorf("sqlstore: claim part: %w", err)
		}
		if rows, _ := res.RowsAffected(); rows > 0 {
			claimed = true
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT writer FROM upload_parts WHERE session_uuid=? AND n=?`, uuid, n).Scan(&prev); err != nil {
			return fmt.Errorf("sqlstore: part writer: %w", err)
		}
		return nil
	})
	return prev, claimed, err
}

// BeginPart implements satchel.Store.
func (db *DB) BeginPart(ctx context.Context, uuid string, n int, writer string) error {
	return db.tx(ctx, func(tx execer) error {
		if err := lockOpenSession(ctx, tx, uuid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO upload_parts (session_uuid, n, size, checksum, writer, writing) VALUES (?, ?, 0, '', ?, TRUE)
			ON CONFLICT (session_uuid, n) DO UPDATE SET size=0, checksum='', writer=excluded.writer, writing=TRUE, blob_tag=''`, uuid, n, writer)
		if err != nil {
			return fmt.Errorf("sqlstore: begin part: %w", err)
		}
		return nil
	})
}

// CheckPart implements satchel.Store. It records nothing (the session
// lock is an update to the same value): its commit is relaxed.
func (db *DB) CheckPart(ctx context.Context, uuid string, n int, writer string) error {
	return db.txRelaxed(ctx, func(tx execer) error {
		if err := lockOpenSession(ctx, tx, uuid); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM upload_parts WHERE session_uuid=? AND n=? AND writer=? AND writing`, uuid, n, writer).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return satchel.ErrConflict
		}
		if err != nil {
			return fmt.Errorf("sqlstore: check part: %w", err)
		}
		return nil
	})
}

// FinishPart implements satchel.Store. It needs no session lock: while the
// mark is in place, FenceUploadSession fails.
func (db *DB) FinishPart(ctx context.Context, uuid string, n int, writer string, size int64, checksum, tag string) error {
	res, err := db.w.ExecContext(ctx, `UPDATE upload_parts SET size=?, checksum=?, blob_tag=?, writing=FALSE WHERE session_uuid=? AND n=? AND writer=? AND writing`,
		size, checksum, tag, uuid, n, writer)
	if err != nil {
		return fmt.Errorf("sqlstore: finish part: %w", err)
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		return satchel.ErrConflict
	}
	return nil
}

// DropPart implements satchel.Store.
func (db *DB) DropPart(ctx context.Context, uuid string, n int, writers ...string) error {
	return db.tx(ctx, func(tx execer) error {
		if err := lockOpenSession(ctx, tx, uuid); err != nil {
			if satchel.IsNotFound(err) || errors.Is(err, satchel.ErrConflict) {
				return nil
			}
			return err
		}
		q, args := `DELETE FROM upload_parts WHERE session_uuid=? AND n=?`, []any{uuid, n}
		if len(writers) > 0 {
			q += ` AND writer IN (?` + strings.Repeat(`, ?`, len(writers)-1) + `)`
			for _, w := range writers {
				args = append(args, w)
			}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("sqlstore: drop part: %w", err)
		}
		return nil
	})
}

// FenceUploadSession implements satchel.Store.
func (db *DB) FenceUploadSession(ctx context.Context, uuid string) error {
	return db.tx(ctx, func(tx execer) error {
		res, err := tx.ExecContext(ctx, `UPDATE upload_sessions SET completing=? WHERE uuid=?`, micros(time.Now()), uuid)
		if err != nil {
			return fmt.Errorf("sqlstore: fence session: %w", err)
		}
		if rows, _ := res.RowsAffected(); rows == 0 {
			return satchel.ErrNotFound
		}
		// A separate statement: on PostgreSQL it sees every part change
		// committed before the update above got the session row.
		var writing int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM upload_parts WHERE session_uuid=? AND writing`, uuid).Scan(&writing); err != nil {
			return fmt.Errorf("sqlstore: parts being written: %w", err)
		}
		if writing > 0 {
			return satchel.ErrConflict
		}
		return nil
	})
}

// UnfenceUploadSession implements satchel.Store.
func (db *DB) UnfenceUploadSession(ctx context.Context, uuid string) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE upload_sessions SET completing=0 WHERE uuid=?`, uuid); err != nil {
		return fmt.Errorf("sqlstore: unfence session: %w", err)
	}
	return nil
}

// CompleteUploadSession implements satchel.Store.
func (db *DB) CompleteUploadSession(ctx context.Context, uuid string, f *satchel.File, events []*satchel.Event) error {
	return db.tx(ctx, func(tx execer) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM upload_sessions WHERE uuid=?`, uuid)
		if err != nil {
			return fmt.Errorf("sqlstore: delete session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return satchel.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM upload_parts WHERE session_uuid=?`, uuid); err != nil {
			return fmt.Errorf("sqlstore: delete parts: %w", err)
		}
		if err := insertFile(ctx, tx, f); err != nil {
			return err
		}
		return insertEvents(ctx, tx, events)
	})
}

// DeleteUploadSession implements satchel.Store.
func (db *DB) DeleteUploadSession(ctx context.Context, uuid string) error {
	return db.tx(ctx, func(tx execer) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM upload_sessions WHERE uuid=?`, uuid); err != nil {
			return fmt.Errorf("sqlstore: delete session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM upload_parts WHERE session_uuid=?`, uuid); err != nil {
			return fmt.Errorf("sqlstore: delete parts: %w", err)
		}
		return nil
	})
}

// ExpiredUploadSessions implements satchel.Store.
func (db *DB) ExpiredUploadSessions(ctx context.Context, now time.Time, limit int) ([]*satchel.UploadSession, error) {
	return queryAll(ctx, db.r, "expired sessions", scanSession, `SELECT `+sessionCols+` FROM upload_sessions WHERE expires < ? ORDER BY expires LIMIT ?`, micros(now), limit)
}

// Fetch tasks.

// lease_until (a column of the hand-rolled claims River replaced) stays 0.
const taskCols = `token, project_id, source_url, status, done, total, error_code, error_text, file_uuid, params, created, updated, attempts`

func scanTask(row rowScanner) (*satchel.FetchTask, error) {
	var t satchel.FetchTask
	var created, updated int64
	if err := row.Scan(&t.Token, &t.ProjectID, &t.SourceURL, &t.Status, &t.Done, &t.Total, &t.ErrorCode, &t.ErrorText, &t.FileUUID, &t.Params, &created, &updated, &t.Attempts); err != nil {
		return nil, notFound(err)
	}
	t.Created, t.Updated = fromMicros(created), fromMicros(updated)
	return &t, nil
}

// CreateFetchTask implements satchel.Store: the task and its job are
// inserted together.
func (db *DB) CreateFetchTask(ctx context.Context, t *satchel.FetchTask) error {
	return db.tx(ctx, func(tx execer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO fetch_tasks (`+taskCols+`, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			t.Token, t.ProjectID, t.SourceURL, t.Status, t.Done, t.Total, t.ErrorCode, t.ErrorText, t.FileUUID, t.Params, micros(t.Created), micros(t.Updated), t.Attempts)
		if err != nil {
			return fmt.Errorf("sqlstore: create fetch task: %w", err)
		}
		return tx.insertJobs(ctx, jobs.FetchArgs{Token: t.Token, ProjectID: t.ProjectID})
	})
}

// FetchTask implements satchel.Store.
func (db *DB) FetchTask(ctx context.Context, token string) (*satchel.FetchTask, error) {
	return scanTask(db.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM fetch_tasks WHERE token=?`, token))
}

// StartFetchTask implements satchel.Store.
func (db *DB) StartFetchTask(ctx context.Context, token string) (*satchel.FetchTask, error) {
	t, err := scanTask(db.w.QueryRowContext(ctx, `UPDATE fetch_tasks SET attempts=attempts+1 WHERE token=? RETURNING `+taskCols, token))
	if err != nil && !satchel.IsNotFound(err) {
		return nil, fmt.Errorf("sqlstore: start fetch task: %w", err)
	}
	return t, err
}

// UpdateFetchTask implements satchel.Store.
func (db *DB) UpdateFetchTask(ctx context.Context, t *satchel.FetchTask) error {
	res, err := db.w.ExecContext(ctx, `UPDATE fetch_tasks SET status=?, done=?, total=?, error_code=?, error_text=?, file_uuid=?, updated=? WHERE token=? AND attempts=?`,
		t.Status, t.Done, t.Total, t.ErrorCode, t.ErrorText, t.FileUUID, micros(t.Updated), t.Token, t.Attempts)
	if err != nil {
		return fmt.Errorf("sqlstore: update fetch task: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: fetch task %s was taken over: %w", t.Token, satchel.ErrConflict)
	}
	return nil
}

// DeleteFetchTasksBefore implements satchel.Store.
func (db *DB) DeleteFetchTasksBefore(ctx context.Context, t time.Time) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM fetch_tasks WHERE status IN ('success', 'error') AND updated < ?`, micros(t))
	if err != nil {
		return fmt.Errorf("sqlstore: delete fetch tasks: %w", err)
	}
	return nil
}

// Groups.

// CreateGroup implements satchel.Store.
func (db *DB) CreateGroup(ctx context.Context, g *satchel.Group) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO groups (id, project_id, created, stored, removed, members) VALUES (?, ?, ?, ?, ?, ?)`,
		g.ID, g.ProjectID, micros(g.Created), nullMicros(g.Stored), nullMicros(g.Removed), mustJSON(membersV1(g.Members)))
	if err != nil {
		return fmt.Errorf("sqlstore: create group: %w", err)
	}
	return nil
}

func scanGroup(row rowScanner) (*satchel.Group, error) {
	var g satchel.Group
	var created int64
	var stored, removed sql.NullInt64
	var members string
	if err := row.Scan(&g.ID, &g.ProjectID, &created, &stored, &removed, &members); err != nil {
		return nil, notFound(err)
	}
	g.Created, g.Stored, g.Removed = fromMicros(created), timePtr(stored), timePtr(removed)
	var ms []memberV1
	if err := json.Unmarshal([]byte(members), &ms); err != nil {
		return nil, fmt.Errorf("sqlstore: group members: %w", err)
	}
	if ms != nil {
		g.Members = make([]satchel.GroupMember, len(ms))
	}
	for i, m := range ms {
		g.Members[i] = satchel.GroupMember{FileUUID: m.FileUUID, DefaultEffects: m.DefaultEffects}
	}
	return &g, nil
}

// memberV1 is the stored form of a group member (groups.members is a JSON
// array of them). Its keys are frozen: they are the untagged Go names the
// column was first written with.
type memberV1 struct {
	FileUUID       string `json:"FileUUID"`
	DefaultEffects string `json:"DefaultEffects"`
}

func membersV1(ms []satchel.GroupMember) []memberV1 {
	if ms == nil {
		return nil
	}
	out := make([]memberV1, len(ms))
	for i, m := range ms {
		out[i] = memberV1{FileUUID: m.FileUUID, DefaultEffects: m.DefaultEffects}
	}
	return out
}

// Group implements satchel.Store.
func (db *DB) Group(ctx context.Context, projectID int64, id string) (*satchel.Group, error) {
	g, err := scanGroup(db.r.QueryRowContext(ctx, `SELECT id, project_id, created, stored, removed, members FROM groups WHERE id=?`, id))
	if err != nil {
		return nil, err
	}
	if projectID != 0 && g.ProjectID != projectID {
		return nil, satchel.ErrNotFound
	}
	return g, nil
}

// Settings.

// Setting implements satchel.Store.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name=?`, name).Scan(&v)
	return v, notFound(err)
}

// SetSettingIfAbsent implements satchel.Store.
func (db *DB) SetSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	if _, err := db.w.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return "", fmt.Errorf("sqlstore: set setting: %w", err)
	}
	var v string
	if err := db.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE name=?`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("sqlstore: read setting: %w", err)
	}
	return v, nil
}
