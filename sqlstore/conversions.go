package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/convert"
)

// Conversions.

const convCols = `token, project_id, kind, path, source_uuid, result_uuid, thumbs_group, pages_group, store, save_in_group, status, error, progress, created, updated, attempts`

func scanConversion(row rowScanner) (*satchel.Conversion, error) {
	var c satchel.Conversion
	var created, updated int64
	if err := row.Scan(&c.Token, &c.ProjectID, &c.Kind, &c.Path, &c.SourceUUID, &c.ResultUUID, &c.ThumbsGroup, &c.PagesGroup,
		&c.Store, &c.SaveInGroup, &c.Status, &c.Error, &c.Progress, &created, &updated, &c.Attempts); err != nil {
		return nil, notFound(err)
	}
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func variationsJSON(v map[string]string) string {
	if len(v) == 0 {
		return ""
	}
	return mustJSON(v)
}

// CreateConversion implements satchel.Store: the conversion and its job
// are inserted together.
func (db *DB) CreateConversion(ctx context.Context, c *satchel.Conversion) error {
	return db.tx(ctx, func(tx execer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO conversions (`+convCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Token, c.ProjectID, c.Kind, c.Path, c.SourceUUID, c.ResultUUID, c.ThumbsGroup, c.PagesGroup, c.Store, c.SaveInGroup,
			c.Status, c.Error, c.Progress, micros(c.Created), micros(c.Updated), c.Attempts)
		if isUniqueViolation(err) {
			return fmt.Errorf("sqlstore: conversion %d: %w", c.Token, satchel.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: create conversion: %w", err)
		}
		return tx.insertJobs(ctx, convert.Args(c.Kind, c.Token, c.ProjectID))
	})
}

// Conversion implements satchel.Store.
func (db *DB) Conversion(ctx context.Context, kind string, token int64) (*satchel.Conversion, error) {
	return scanConversion(db.r.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversions WHERE token=? AND kind=?`, token, kind))
}

// ReusableConversion implements satchel.Store.
func (db *DB) ReusableConversion(ctx context.Context, projectID int64, path string) (*satchel.Conversion, error) {
	return scanConversion(db.r.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversions
		WHERE project_id=? AND path=? AND status NOT IN ('failed', 'cancelled') ORDER BY created DESC LIMIT 1`, projectID, path))
}

// SourceConversions implements satchel.Store.
func (db *DB) SourceConversions(ctx context.Context, projectID int64, sourceUUID string) ([]*satchel.Conversion, error) {
	return queryAll(ctx, db.r, "source conversions", scanConversion, `SELECT `+convCols+` FROM conversions
		WHERE source_uuid=? AND project_id=? AND status='finished' ORDER BY created`, sourceUUID, projectID)
}

// StartConversion implements satchel.Store.
func (db *DB) StartConversion(ctx context.Context, token int64, attempt int) (*satchel.Conversion, error) {
	c, err := scanConversion(db.w.QueryRowContext(ctx, `UPDATE conversions SET attempts=? WHERE token=? AND attempts<? RETURNING `+convCols, attempt, token, attempt))
	if satchel.IsNotFound(err) {
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT 1 FROM conversions WHERE token=?`, token).Scan(&n); err != nil {
			return nil, notFound(err)
		}
		return nil, fmt.Errorf("sqlstore: conversion %d was taken over: %w", token, satchel.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: start conversion: %w", err)
	}
	return c, nil
}

func updateConversion(ctx context.Context, e execer, c *satchel.Conversion) error {
	res, err := e.ExecContext(ctx, `UPDATE conversions SET status=?, error=?, progress=?, pages_group=?, updated=? WHERE token=? AND attempts=?`,
		c.Status, c.Error, c.Progress, c.PagesGroup, micros(c.Updated), c.Token, c.Attempts)
	if err != nil {
		return fmt.Errorf("sqlstore: update conversion: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: conversion %d was taken over: %w", c.Token, satchel.ErrConflict)
	}
	return nil
}

// UpdateConversion implements satchel.Store.
func (db *DB) UpdateConversion(ctx context.Context, c *satchel.Conversion) error {
	return updateConversion(ctx, db.w, c)
}

// FinishConversion implements satchel.Store.
func (db *DB) FinishConversion(ctx context.Context, c *satchel.Conversion, out satchel.ConversionOutcome) error {
	return db.tx(ctx, func(tx execer) error {
		if err := updateConversion(ctx, tx, c); err != nil {
			return err
		}
		for _, f := range out.Files {
			if err := insertFile(ctx, tx, f); err != nil {
				return err
			}
		}
		for _, g := range out.Groups {
			if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, project_id, created, stored, removed, members) VALUES (?, ?, ?, ?, ?, ?)`,
				g.ID, g.ProjectID, micros(g.Created), nullMicros(g.Stored), nullMicros(g.Removed), mustJSON(g.Members)); err != nil {
				return fmt.Errorf("sqlstore: create group: %w", err)
			}
		}
		if err := insertEvents(ctx, tx, out.Events); err != nil {
			return err
		}
		// The source's variations gain the path (the source may be gone).
		var vars string
		err := tx.QueryRowContext(ctx, `SELECT variations FROM files WHERE uuid=?`, c.SourceUUID).Scan(&vars)
		if err := notFound(err); satchel.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlstore: source variations: %w", err)
		}
		m := map[string]string{}
		if vars != "" {
			if err := json.Unmarshal([]byte(vars), &m); err != nil {
				return fmt.Errorf("sqlstore: source variations: %w", err)
			}
		}
		m[c.Path] = c.ResultUUID
		if _, err := tx.ExecContext(ctx, `UPDATE files SET variations=? WHERE uuid=?`, mustJSON(m), c.SourceUUID); err != nil {
			return fmt.Errorf("sqlstore: source variations: %w", err)
		}
		return nil
	})
}
