// Package sqlstore implements satchel.Store on SQL databases. The embedded
// default is SQLite (modernc.org/sqlite, WAL, synchronous=FULL: a committed
// record survives power loss); the queries are written to be portable.
package sqlstore

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	_ "modernc.org/sqlite" // SQLite driver
)

//go:embed schema.sql
var schema string

// DB is a satchel.Store on SQL.
type DB struct {
	// w is the single-connection writer pool (SQLite allows one writer);
	// r serves reads concurrently.
	w, r *sql.DB

	batch     chan *createReq
	batchDone chan struct{}
}

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
	db := &DB{w: w, r: r}
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	db.startBatcher()
	return db, nil
}

// Close implements satchel.Store.
func (db *DB) Close() error {
	close(db.batch)
	<-db.batchDone
	err1 := db.w.Close()
	err2 := db.r.Close()
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

func isUniqueViolation(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "duplicate key"))
}

// tx runs fn in a write transaction.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// Projects.

const projectCols = `id, name, public_key, secret_key, autostore, signed_uploads, max_file_size, allowed_types, created`

func scanProject(row interface{ Scan(...any) error }) (*satchel.Project, error) {
	var p satchel.Project
	var types string
	var created int64
	if err := row.Scan(&p.ID, &p.Name, &p.PublicKey, &p.SecretKey, &p.Autostore, &p.SignedUploads, &p.MaxFileSize, &types, &created); err != nil {
		return nil, notFound(err)
	}
	p.Created = fromMicros(created)
	if err := json.Unmarshal([]byte(types), &p.AllowedTypes); err != nil {
		return nil, fmt.Errorf("sqlstore: project %d allowed types: %w", p.ID, err)
	}
	return &p, nil
}

// CreateProject implements satchel.Store.
func (db *DB) CreateProject(ctx context.Context, p *satchel.Project) error {
	if p.Created.IsZero() {
		p.Created = time.Now().UTC()
	}
	if p.AllowedTypes == nil {
		p.AllowedTypes = []string{}
	}
	err := db.w.QueryRowContext(ctx, `INSERT INTO projects (name, public_key, secret_key, autostore, signed_uploads, max_file_size, allowed_types, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.Name, p.PublicKey, p.SecretKey, p.Autostore, p.SignedUploads, p.MaxFileSize, mustJSON(p.AllowedTypes), micros(p.Created)).Scan(&p.ID)
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
	res, err := db.w.ExecContext(ctx, `UPDATE projects SET name=?, public_key=?, secret_key=?, autostore=?, signed_uploads=?, max_file_size=?, allowed_types=? WHERE id=?`,
		p.Name, p.PublicKey, p.SecretKey, p.Autostore, p.SignedUploads, p.MaxFileSize, mustJSON(p.AllowedTypes), p.ID)
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+projectCols+` FROM projects ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list projects: %w", err)
	}
	defer rows.Close()
	var out []*satchel.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Files.

const fileCols = `uuid, project_id, size, mime_type, original_filename, filename, blob_key, checksum, is_image, is_ready, uploaded, stored, removed, source, source_url, content_info, metadata, tags`

func scanFile(row interface{ Scan(...any) error }) (*satchel.File, error) {
	var f satchel.File
	var uploaded int64
	var stored, removed sql.NullInt64
	var ci, md, tags string
	if err := row.Scan(&f.UUID, &f.ProjectID, &f.Size, &f.MimeType, &f.OriginalFilename, &f.Filename, &f.BlobKey, &f.Checksum,
		&f.IsImage, &f.IsReady, &uploaded, &stored, &removed, &f.Source, &f.SourceURL, &ci, &md, &tags); err != nil {
		return nil, notFound(err)
	}
	f.Uploaded = fromMicros(uploaded)
	f.Stored = timePtr(stored)
	f.Removed = timePtr(removed)
	if ci != "null" && ci != "" {
		f.ContentInfo = new(satchel.ContentInfo)
		if err := json.Unmarshal([]byte(ci), f.ContentInfo); err != nil {
			return nil, fmt.Errorf("sqlstore: file %s content info: %w", f.UUID, err)
		}
	}
	if err := json.Unmarshal([]byte(md), &f.Metadata); err != nil {
		return nil, fmt.Errorf("sqlstore: file %s metadata: %w", f.UUID, err)
	}
	if err := json.Unmarshal([]byte(tags), &f.Tags); err != nil {
		return nil, fmt.Errorf("sqlstore: file %s tags: %w", f.UUID, err)
	}
	return &f, nil
}

func insertFile(ctx context.Context, tx *sql.Tx, f *satchel.File) error {
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	if f.Tags == nil {
		f.Tags = []string{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO files (`+fileCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.UUID, f.ProjectID, f.Size, f.MimeType, f.OriginalFilename, f.Filename, f.BlobKey, f.Checksum, f.IsImage, f.IsReady,
		micros(f.Uploaded), nullMicros(f.Stored), nullMicros(f.Removed), f.Source, f.SourceURL, mustJSON(f.ContentInfo), mustJSON(f.Metadata), mustJSON(f.Tags))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: file %s: %w", f.UUID, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: insert file: %w", err)
	}
	return nil
}

func insertEvents(ctx context.Context, tx *sql.Tx, events []*satchel.Event) error {
	for _, e := range events {
		if e.Created.IsZero() {
			e.Created = time.Now().UTC()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, project_id, type, payload, created) VALUES (?, ?, ?, ?, ?)`,
			e.ID, e.ProjectID, e.Type, string(e.Payload), micros(e.Created)); err != nil {
			return fmt.Errorf("sqlstore: insert event: %w", err)
		}
	}
	return nil
}

// CreateFiles implements satchel.Store.
// Concurrent calls are committed together (group commit).
func (db *DB) CreateFiles(ctx context.Context, files []*satchel.File, events []*satchel.Event) error {
	r := &createReq{ctx: ctx, files: files, events: events, done: make(chan error, 1)}
	db.batch <- r
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+fileCols+` FROM files WHERE stored IS NULL AND removed IS NULL AND uploaded < ? ORDER BY uploaded LIMIT ?`, micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: expired files: %w", err)
	}
	defer rows.Close()
	var out []*satchel.File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// RemoveFile implements satchel.Store.
func (db *DB) RemoveFile(ctx context.Context, uuid string, t time.Time, events []*satchel.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE files SET removed=?, stored=NULL WHERE uuid=? AND removed IS NULL`, micros(t), uuid)
		if err != nil {
			return fmt.Errorf("sqlstore: remove file: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return satchel.ErrNotFound
		}
		return insertEvents(ctx, tx, events)
	})
}

// Upload sessions.

const sessionCols = `uuid, project_id, size, part_size, content_type, original_filename, store, metadata, tags, source, created, expires, upload`

func scanSession(row interface{ Scan(...any) error }) (*satchel.UploadSession, error) {
	var s satchel.UploadSession
	var md, tags string
	var created, expires int64
	if err := row.Scan(&s.UUID, &s.ProjectID, &s.Size, &s.PartSize, &s.ContentType, &s.OriginalFilename, &s.Store, &md, &tags, &s.Source, &created, &expires, &s.Upload); err != nil {
		return nil, notFound(err)
	}
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
	_, err := db.w.ExecContext(ctx, `INSERT INTO upload_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.UUID, s.ProjectID, s.Size, s.PartSize, s.ContentType, s.OriginalFilename, s.Store, mustJSON(s.Metadata), mustJSON(s.Tags), s.Source,
		micros(s.Created), micros(s.Expires), s.Upload)
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
	_, err := db.w.ExecContext(ctx, `INSERT INTO upload_parts (session_uuid, n, size, checksum) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_uuid, n) DO UPDATE SET size=excluded.size, checksum=excluded.checksum`, uuid, n, size, checksum)
	if err != nil {
		return fmt.Errorf("sqlstore: put part: %w", err)
	}
	return nil
}

// Parts implements satchel.Store.
func (db *DB) Parts(ctx context.Context, uuid string) (map[int]satchel.PartRecord, error) {
	rows, err := db.w.QueryContext(ctx, `SELECT n, size, checksum FROM upload_parts WHERE session_uuid=?`, uuid)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: parts: %w", err)
	}
	defer rows.Close()
	out := map[int]satchel.PartRecord{}
	for rows.Next() {
		var n int
		var p satchel.PartRecord
		if err := rows.Scan(&n, &p.Size, &p.Checksum); err != nil {
			return nil, fmt.Errorf("sqlstore: scan part: %w", err)
		}
		out[n] = p
	}
	return out, rows.Err()
}

// CompleteUploadSession implements satchel.Store.
func (db *DB) CompleteUploadSession(ctx context.Context, uuid string, f *satchel.File, events []*satchel.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
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
	return db.tx(ctx, func(tx *sql.Tx) error {
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+sessionCols+` FROM upload_sessions WHERE expires < ? ORDER BY expires LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: expired sessions: %w", err)
	}
	defer rows.Close()
	var out []*satchel.UploadSession
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Fetch tasks.

const taskCols = `token, project_id, source_url, status, done, total, error_code, error_text, file_uuid, params, created, updated, attempts`

func scanTask(row interface{ Scan(...any) error }) (*satchel.FetchTask, error) {
	var t satchel.FetchTask
	var created, updated int64
	if err := row.Scan(&t.Token, &t.ProjectID, &t.SourceURL, &t.Status, &t.Done, &t.Total, &t.ErrorCode, &t.ErrorText, &t.FileUUID, &t.Params, &created, &updated, &t.Attempts); err != nil {
		return nil, notFound(err)
	}
	t.Created, t.Updated = fromMicros(created), fromMicros(updated)
	return &t, nil
}

// CreateFetchTask implements satchel.Store.
func (db *DB) CreateFetchTask(ctx context.Context, t *satchel.FetchTask) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO fetch_tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Token, t.ProjectID, t.SourceURL, t.Status, t.Done, t.Total, t.ErrorCode, t.ErrorText, t.FileUUID, t.Params, micros(t.Created), micros(t.Updated), t.Attempts)
	if err != nil {
		return fmt.Errorf("sqlstore: create fetch task: %w", err)
	}
	return nil
}

// FetchTask implements satchel.Store.
func (db *DB) FetchTask(ctx context.Context, token string) (*satchel.FetchTask, error) {
	return scanTask(db.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM fetch_tasks WHERE token=?`, token))
}

// UpdateFetchTask implements satchel.Store.
func (db *DB) UpdateFetchTask(ctx context.Context, t *satchel.FetchTask) error {
	_, err := db.w.ExecContext(ctx, `UPDATE fetch_tasks SET status=?, done=?, total=?, error_code=?, error_text=?, file_uuid=?, updated=?, attempts=? WHERE token=?`,
		t.Status, t.Done, t.Total, t.ErrorCode, t.ErrorText, t.FileUUID, micros(t.Updated), t.Attempts, t.Token)
	if err != nil {
		return fmt.Errorf("sqlstore: update fetch task: %w", err)
	}
	return nil
}

// UnfinishedFetchTasks implements satchel.Store.
func (db *DB) UnfinishedFetchTasks(ctx context.Context) ([]*satchel.FetchTask, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+taskCols+` FROM fetch_tasks WHERE status IN ('waiting', 'progress') ORDER BY created`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: unfinished tasks: %w", err)
	}
	defer rows.Close()
	var out []*satchel.FetchTask
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
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
		g.ID, g.ProjectID, micros(g.Created), nullMicros(g.Stored), nullMicros(g.Removed), mustJSON(g.Members))
	if err != nil {
		return fmt.Errorf("sqlstore: create group: %w", err)
	}
	return nil
}

// Group implements satchel.Store.
func (db *DB) Group(ctx context.Context, projectID int64, id string) (*satchel.Group, error) {
	var g satchel.Group
	var created int64
	var stored, removed sql.NullInt64
	var members string
	err := db.r.QueryRowContext(ctx, `SELECT id, project_id, created, stored, removed, members FROM groups WHERE id=?`, id).
		Scan(&g.ID, &g.ProjectID, &created, &stored, &removed, &members)
	if err != nil {
		return nil, notFound(err)
	}
	if projectID != 0 && g.ProjectID != projectID {
		return nil, satchel.ErrNotFound
	}
	g.Created, g.Stored, g.Removed = fromMicros(created), timePtr(stored), timePtr(removed)
	if err := json.Unmarshal([]byte(members), &g.Members); err != nil {
		return nil, fmt.Errorf("sqlstore: group members: %w", err)
	}
	return &g, nil
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
