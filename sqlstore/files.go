package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/jobs"
)

// fileState is the counter a file counts in.
func fileState(f *satchel.File) (stored, unstored, removed int64) {
	switch {
	case f.Removed != nil:
		return 0, 0, 1
	case f.Stored != nil:
		return 1, 0, 0
	}
	return 0, 1, 0
}

// addCounts adjusts a project's counters by the given deltas.
func addCounts(ctx context.Context, tx execer, projectID, stored, unstored, removed int64) error {
	if stored == 0 && unstored == 0 && removed == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO project_counters (project_id, stored, unstored, removed) VALUES (?, ?, ?, ?)
		ON CONFLICT (project_id) DO UPDATE SET stored = project_counters.stored + excluded.stored,
		unstored = project_counters.unstored + excluded.unstored, removed = project_counters.removed + excluded.removed`,
		projectID, stored, unstored, removed)
	if err != nil {
		return fmt.Errorf("sqlstore: counters: %w", err)
	}
	return nil
}

// countChange moves a file from its old counter to its new one.
func countChange(ctx context.Context, tx execer, old, cur *satchel.File) error {
	s0, u0, r0 := fileState(old)
	s1, u1, r1 := fileState(cur)
	return addCounts(ctx, tx, cur.ProjectID, s1-s0, u1-u0, r1-r0)
}

// FileCounts implements satchel.Store.
func (db *DB) FileCounts(ctx context.Context, projectID int64) (satchel.FileCounts, error) {
	return fileCounts(ctx, db.r, projectID)
}

func fileCounts(ctx context.Context, e execer, projectID int64) (satchel.FileCounts, error) {
	var c satchel.FileCounts
	err := e.QueryRowContext(ctx, `SELECT stored, unstored, removed FROM project_counters WHERE project_id=?`, projectID).Scan(&c.Stored, &c.Unstored, &c.Removed)
	if err := notFound(err); err != nil && !satchel.IsNotFound(err) {
		return c, fmt.Errorf("sqlstore: counts: %w", err)
	}
	return c, nil
}

// FileSizes implements satchel.Store.
func (db *DB) FileSizes(ctx context.Context, projectID int64) (satchel.FileSizes, error) {
	var z satchel.FileSizes
	err := db.r.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(CASE WHEN stored IS NOT NULL THEN size ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN stored IS NULL THEN size ELSE 0 END), 0) AS BIGINT) FROM files WHERE project_id=? AND removed IS NULL`, projectID).Scan(&z.StoredBytes, &z.UnstoredBytes)
	if err != nil {
		return z, fmt.Errorf("sqlstore: sizes: %w", err)
	}
	return z, nil
}

// ListFiles implements satchel.Store.
func (db *DB) ListFiles(ctx context.Context, q satchel.FileQuery) ([]*satchel.File, error) {
	query, args := listFilesQuery(q)
	if q.Undecoded {
		return queryAll(ctx, db.r, "list files", scanFileJSON, query, args...)
	}
	return queryAll(ctx, db.r, "list files", scanFile, query, args...)
}

// listFilesQuery is the query of a file list. Its WHERE clause names the
// state exactly as the partial index of that state does (files_list_*, see
// migration 00005), so the planner reads one index range in the list's
// order: no sort, no rows of other states stepped over.
func listFilesQuery(q satchel.FileQuery) (string, []any) {
	var where []string
	args := []any{q.ProjectID}
	where = append(where, "project_id = ?")
	if q.Removed {
		where = append(where, "removed IS NOT NULL")
	} else {
		where = append(where, "removed IS NULL")
	}
	if q.Stored != nil {
		if *q.Stored {
			where = append(where, "stored IS NOT NULL")
		} else {
			where = append(where, "stored IS NULL")
		}
	}
	col, op, dir := "uploaded", ">", "ASC"
	if q.BySize {
		col = "size"
	}
	if q.Desc {
		op, dir = "<", "DESC"
	}
	switch {
	case q.BySize && q.FromSize != nil:
		where, args = keysetAfter(where, args, col, "uuid", op, *q.FromSize, q.FromUUID)
	case !q.BySize && q.FromTime != nil:
		where, args = keysetAfter(where, args, col, "uuid", op, micros(*q.FromTime), q.FromUUID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	query := `SELECT ` + fileCols + ` FROM files WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + col + ` ` + dir + `, uuid ` + dir + ` LIMIT ?`
	if q.Offset > 0 {
		query += ` OFFSET ?`
		args = append(args, q.Offset)
	}
	return query, args
}

// keysetAfter adds the condition of a keyset cursor: rows strictly beyond
// key in the column col (op is ">" or "<"), or, with a tie-breaker, beyond
// the pair (key, tie) in the (col, tieCol) order, so that rows sharing the
// key are neither skipped nor repeated. The first condition alone is what
// the (…, col, tieCol) indexes serve as a range; the second is exact.
func keysetAfter(where []string, args []any, col, tieCol, op string, key any, tie string) ([]string, []any) {
	if tie == "" {
		return append(where, col+" "+op+" ?"), append(args, key)
	}
	where = append(where, col+" "+op+"= ?", "("+col+" "+op+" ? OR "+tieCol+" "+op+" ?)")
	return where, append(args, key, key, tie)
}

// UpdateFile implements satchel.Store.
func (db *DB) UpdateFile(ctx context.Context, projectID int64, uuid string, mutate func(*satchel.File) ([]*satchel.Event, error)) (*satchel.File, error) {
	var out *satchel.File
	err := db.tx(ctx, func(tx execer) error {
		var err error
		out, err = db.updateOne(ctx, tx, projectID, uuid, mutate)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateFiles implements satchel.Store.
func (db *DB) UpdateFiles(ctx context.Context, projectID int64, uuids []string, mutate func(*satchel.File) ([]*satchel.Event, error)) ([]*satchel.File, []error, error) {
	files := make([]*satchel.File, len(uuids))
	errs := make([]error, len(uuids))
	err := db.tx(ctx, func(tx execer) error {
		for i, id := range uuids {
			f, err := db.updateOne(ctx, tx, projectID, id, mutate)
			var perFile *fileError
			switch {
			case err == nil:
				files[i] = f
			case errors.As(err, &perFile):
				errs[i] = perFile.err
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return files, errs, nil
}

// fileError is a failure of one file that does not spoil its transaction.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// updateOne reads, mutates and writes one file inside tx. Failures that
// leave the transaction usable are returned as *fileError.
func (db *DB) updateOne(ctx context.Context, tx execer, projectID int64, uuid string, mutate func(*satchel.File) ([]*satchel.Event, error)) (*satchel.File, error) {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE"
	}
	old, err := scanFile(tx.QueryRowContext(ctx, `SELECT `+fileCols+` FROM files WHERE uuid=?`+lock, uuid))
	if satchel.IsNotFound(err) {
		return nil, &fileError{satchel.ErrNotFound}
	}
	if err != nil {
		return nil, err
	}
	if projectID != 0 && old.ProjectID != projectID {
		return nil, &fileError{satchel.ErrNotFound}
	}
	cur := *old
	cur.Metadata = make(map[string]string, len(old.Metadata))
	for k, v := range old.Metadata {
		cur.Metadata[k] = v
	}
	cur.Tags = append([]string(nil), old.Tags...)
	if old.Appdata != nil {
		cur.Appdata = make(map[string]satchel.AddonResult, len(old.Appdata))
		for k, v := range old.Appdata {
			cur.Appdata[k] = v
		}
	}
	events, err := mutate(&cur)
	if err != nil {
		return nil, &fileError{err}
	}
	if cur.Metadata == nil {
		cur.Metadata = map[string]string{}
	}
	if cur.Tags == nil {
		cur.Tags = []string{}
	}
	_, err = tx.ExecContext(ctx, `UPDATE files SET size=?, mime_type=?, is_image=?, is_ready=?, stored=?, removed=?, content_info=?, metadata=?, tags=?, expires=?, original_protected=?, appdata=? WHERE uuid=?`,
		cur.Size, cur.MimeType, cur.IsImage, cur.IsReady, nullMicros(cur.Stored), nullMicros(cur.Removed),
		mustJSON(cur.ContentInfo), mustJSON(cur.Metadata), mustJSON(cur.Tags), nullMicros(cur.Expires), cur.OriginalProtected, appdataJSON(cur.Appdata), uuid)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: update file: %w", err)
	}
	if err := countChange(ctx, tx, old, &cur); err != nil {
		return nil, err
	}
	if err := insertEvents(ctx, tx, events); err != nil {
		return nil, err
	}
	if old.Removed == nil && cur.Removed != nil {
		// The bytes go once the removal commits, retried until done.
		if err := tx.insertJobs(ctx, jobs.RemoveBlobArgs{FileUUID: cur.UUID, Key: cur.BlobKey}); err != nil {
			return nil, err
		}
	}
	return &cur, nil
}

// ListGroups implements satchel.Store.
func (db *DB) ListGroups(ctx context.Context, q satchel.GroupQuery) ([]*satchel.Group, error) {
	where := "project_id = ? AND removed IS NULL"
	args := []any{q.ProjectID}
	op, dir := ">", "ASC"
	if q.Desc {
		op, dir = "<", "DESC"
	}
	if q.FromTime != nil {
		var conds []string
		conds, args = keysetAfter(nil, args, "created", "id", op, micros(*q.FromTime), q.FromID)
		where += " AND " + strings.Join(conds, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	return queryAll(ctx, db.r, "list groups", scanGroup, `SELECT id, project_id, created, stored, removed, members FROM groups WHERE `+where+
		` ORDER BY created `+dir+`, id `+dir+` LIMIT ?`, args...)
}

// CountGroups implements satchel.Store.
func (db *DB) CountGroups(ctx context.Context, projectID int64) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM groups WHERE project_id=? AND removed IS NULL`, projectID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count groups: %w", err)
	}
	return n, nil
}

// RemoveGroup implements satchel.Store.
func (db *DB) RemoveGroup(ctx context.Context, projectID int64, id string, t time.Time) error {
	return db.setGroupTime(ctx, "removed", projectID, id, t)
}

// StoreGroup implements satchel.Store.
func (db *DB) StoreGroup(ctx context.Context, projectID int64, id string, t time.Time) error {
	return db.setGroupTime(ctx, "stored", projectID, id, t)
}

func (db *DB) setGroupTime(ctx context.Context, col string, projectID int64, id string, t time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE groups SET `+col+`=? WHERE id=? AND project_id=? AND removed IS NULL`, micros(t), id, projectID)
	if err != nil {
		return fmt.Errorf("sqlstore: update group: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return satchel.ErrNotFound
	}
	return nil
}

// RecordVariant implements satchel.Store.
func (db *DB) RecordVariant(ctx context.Context, fileUUID, key string) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO variants (file_uuid, key) VALUES (?, ?) ON CONFLICT (file_uuid, key) DO NOTHING`, fileUUID, key)
	if err != nil {
		return fmt.Errorf("sqlstore: record variant: %w", err)
	}
	return nil
}

// TakeVariants implements satchel.Store.
func (db *DB) TakeVariants(ctx context.Context, fileUUID string) ([]string, error) {
	var keys []string
	err := db.tx(ctx, func(tx execer) error {
		var err error
		keys, err = queryAll(ctx, tx, "variants", func(r rowScanner) (string, error) {
			var k string
			return k, r.Scan(&k)
		}, `SELECT key FROM variants WHERE file_uuid=?`, fileUUID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM variants WHERE file_uuid=?`, fileUUID)
		return err
	})
	return keys, err
}

// importRows is how many files ImportFiles inserts per statement: 22
// values a row stays well under both databases' limits on parameters.
const importRows = 500

// ImportFiles inserts files in bulk: many rows per INSERT, all in one
// transaction, and the project counters adjusted once per project. The rows
// are encoded exactly as CreateFiles encodes them; unlike CreateFiles it
// writes no events and does not wait for a group commit. It is meant for
// loading many files at once (benchmarks, imports).
func (db *DB) ImportFiles(ctx context.Context, files []*satchel.File) error {
	return db.tx(ctx, func(tx execer) error {
		type counts struct{ s, u, r int64 }
		byProject := map[int64]*counts{}
		args := make([]any, 0, importRows*22)
		for len(files) > 0 {
			chunk := files[:min(importRows, len(files))]
			files = files[len(chunk):]
			args = args[:0]
			for _, f := range chunk {
				args = fileArgs(args, f)
				c := byProject[f.ProjectID]
				if c == nil {
					c = &counts{}
					byProject[f.ProjectID] = c
				}
				s, u, r := fileState(f)
				c.s, c.u, c.r = c.s+s, c.u+u, c.r+r
			}
			q := `INSERT INTO files (` + fileCols + `) VALUES ` + fileRow + strings.Repeat(", "+fileRow, len(chunk)-1)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("sqlstore: import files: %w", satchel.ErrConflict)
				}
				return fmt.Errorf("sqlstore: import files: %w", err)
			}
		}
		for id, c := range byProject {
			if err := addCounts(ctx, tx, id, c.s, c.u, c.r); err != nil {
				return err
			}
		}
		return nil
	})
}
