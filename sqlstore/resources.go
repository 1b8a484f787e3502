package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/satchel-project/satchel"
)

const resourceCols = `id, project_id, kind, token_hash, target, state, created, removed`

func scanResource(row rowScanner) (*satchel.Resource, error) {
	var r satchel.Resource
	var created int64
	var removed sql.NullInt64
	if err := row.Scan(&r.ID, &r.ProjectID, &r.Kind, &r.TokenHash, &r.Target, &r.State, &created, &removed); err != nil {
		return nil, notFound(err)
	}
	r.Created, r.Removed = fromMicros(created), timePtr(removed)
	return &r, nil
}

// CreateResource implements satchel.ResourceStore.
func (db *DB) CreateResource(ctx context.Context, r *satchel.Resource) error {
	if r.Created.IsZero() {
		r.Created = time.Now().UTC()
	}
	if r.State == "" {
		r.State = "{}"
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO api_resources (`+resourceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProjectID, r.Kind, r.TokenHash, r.Target, r.State, micros(r.Created), nullMicros(r.Removed))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: resource %s: %w", r.ID, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create resource: %w", err)
	}
	return nil
}

// Resource implements satchel.ResourceStore.
func (db *DB) Resource(ctx context.Context, projectID int64, id string) (*satchel.Resource, error) {
	return scanResource(db.r.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM api_resources WHERE id=? AND project_id=?`, id, projectID))
}

// ResourceByToken implements satchel.ResourceStore.
func (db *DB) ResourceByToken(ctx context.Context, tokenHash string) (*satchel.Resource, error) {
	if tokenHash == "" {
		return nil, satchel.ErrNotFound
	}
	return scanResource(db.r.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM api_resources WHERE token_hash=? AND removed IS NULL`, tokenHash))
}

// ResourceByTarget implements satchel.ResourceStore.
func (db *DB) ResourceByTarget(ctx context.Context, projectID int64, kind, target string) (*satchel.Resource, error) {
	return scanResource(db.r.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM api_resources
		WHERE project_id=? AND kind=? AND target=? AND removed IS NULL ORDER BY created DESC LIMIT 1`, projectID, kind, target))
}

// UpdateResource implements satchel.ResourceStore.
func (db *DB) UpdateResource(ctx context.Context, r *satchel.Resource) error {
	res, err := db.w.ExecContext(ctx, `UPDATE api_resources SET target=?, state=?, removed=? WHERE id=?`, r.Target, r.State, nullMicros(r.Removed), r.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update resource: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return satchel.ErrNotFound
	}
	return nil
}

// ListResources implements satchel.ResourceStore: the page and the count
// are read in one snapshot.
func (db *DB) ListResources(ctx context.Context, projectID int64, kind string, offset, limit int) ([]*satchel.Resource, int64, error) {
	var n int64
	var rs []*satchel.Resource
	err := db.snapshot(ctx, func(e execer) error {
		if err := e.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_resources WHERE project_id=? AND kind=? AND removed IS NULL`, projectID, kind).Scan(&n); err != nil {
			return fmt.Errorf("sqlstore: count resources: %w", err)
		}
		var err error
		rs, err = queryAll(ctx, e, "list resources", scanResource, `SELECT `+resourceCols+` FROM api_resources
			WHERE project_id=? AND kind=? AND removed IS NULL ORDER BY created DESC, id DESC LIMIT ? OFFSET ?`, projectID, kind, limit, offset)
		return err
	})
	return rs, n, err
}

// pendingFile is the condition of a live file resource without a file.
const pendingFile = `project_id=? AND kind='` + satchel.ResourceFile + `' AND removed IS NULL
	AND NOT EXISTS (SELECT 1 FROM files f WHERE f.uuid = api_resources.target AND f.project_id = api_resources.project_id)`

// ListPendingFiles implements satchel.ResourceStore.
func (db *DB) ListPendingFiles(ctx context.Context, projectID int64, offset, limit int) ([]*satchel.Resource, int64, error) {
	return listPendingFiles(ctx, db.r, projectID, offset, limit)
}

func listPendingFiles(ctx context.Context, e execer, projectID int64, offset, limit int) ([]*satchel.Resource, int64, error) {
	var n int64
	if err := e.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_resources WHERE `+pendingFile, projectID).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: count pending files: %w", err)
	}
	rs, err := queryAll(ctx, e, "list pending files", scanResource, `SELECT `+resourceCols+` FROM api_resources
		WHERE `+pendingFile+` ORDER BY created DESC, id DESC LIMIT ? OFFSET ?`, projectID, limit, offset)
	return rs, n, err
}

// FileListing implements satchel.ResourceStore, in one read transaction.
func (db *DB) FileListing(ctx context.Context, projectID int64, offset, limit int) (*satchel.FileListing, error) {
	l := &satchel.FileListing{}
	err := db.snapshot(ctx, func(e execer) error {
		var err error
		if l.Pending, l.PendingCount, err = listPendingFiles(ctx, e, projectID, offset, limit); err != nil {
			return err
		}
		if db.snapshotHook != nil {
			db.snapshotHook()
		}
		if l.Counts, err = fileCounts(ctx, e, projectID); err != nil {
			return err
		}
		if len(l.Pending) >= limit {
			return nil
		}
		q, args := listFilesQuery(satchel.FileQuery{ProjectID: projectID, Desc: true,
			Offset: max(offset-int(l.PendingCount), 0), Limit: limit - len(l.Pending)})
		l.Files, err = queryAll(ctx, e, "list files", scanFile, q, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListUntargeted implements satchel.ResourceStore.
func (db *DB) ListUntargeted(ctx context.Context, kind, after string, limit int) ([]*satchel.Resource, error) {
	return queryAll(ctx, db.r, "list untargeted resources", scanResource, `SELECT `+resourceCols+` FROM api_resources
		WHERE kind=? AND target='' AND removed IS NULL AND id > ? ORDER BY id LIMIT ?`, kind, after, limit)
}
