package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/jobs"
)

// appdataJSON encodes a file's add-on results ("{}" when none).
func appdataJSON(ad map[string]satchel.AddonResult) string {
	if len(ad) == 0 {
		return "{}"
	}
	b, err := json.Marshal(ad)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: marshal appdata: %v", err))
	}
	return string(b)
}

const addonCols = `id, project_id, addon, target, params, status, error, result, created, updated`

func scanAddonRequest(row rowScanner) (*satchel.AddonRequest, error) {
	var r satchel.AddonRequest
	var created, updated int64
	if err := row.Scan(&r.ID, &r.ProjectID, &r.Addon, &r.Target, &r.Params, &r.Status, &r.Error, &r.Result, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	r.Created, r.Updated = fromMicros(created), fromMicros(updated)
	return &r, nil
}

// CreateAddonRequest implements satchel.AddonStore: the execution and its
// job are inserted together; a second execution of an add-on on a target
// while one is in progress violates addon_requests_running.
func (db *DB) CreateAddonRequest(ctx context.Context, r *satchel.AddonRequest) error {
	return db.tx(ctx, func(tx execer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO addon_requests (`+addonCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.ProjectID, r.Addon, r.Target, r.Params, r.Status, r.Error, r.Result, micros(r.Created), micros(r.Updated))
		if isUniqueViolation(err) {
			return fmt.Errorf("sqlstore: add-on %s on %s: %w", r.Addon, r.Target, satchel.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: create add-on request: %w", err)
		}
		return tx.insertJobs(ctx, jobs.AddonArgs{RequestID: r.ID, ProjectID: r.ProjectID})
	})
}

// AddonRequest implements satchel.AddonStore.
func (db *DB) AddonRequest(ctx context.Context, projectID int64, id string) (*satchel.AddonRequest, error) {
	return scanAddonRequest(db.r.QueryRowContext(ctx, `SELECT `+addonCols+` FROM addon_requests WHERE id=? AND project_id=?`, id, projectID))
}

// FinishAddonRequest implements satchel.AddonStore.
func (db *DB) FinishAddonRequest(ctx context.Context, r *satchel.AddonRequest) error {
	_, err := db.w.ExecContext(ctx, `UPDATE addon_requests SET status=?, error=?, result=?, updated=? WHERE id=?`,
		r.Status, r.Error, r.Result, micros(r.Updated), r.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: finish add-on request: %w", err)
	}
	return nil
}
