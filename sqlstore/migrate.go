package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/satchel-project/satchel"
)

// migrations change a schema created by an earlier version; schema.sql
// creates version 1, and step i brings a database from version i+1 to i+2.
// Steps are plain SQL that both SQLite and PostgreSQL accept.
var migrations = []string{
	`ALTER TABLE fetch_tasks ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0`,
	`ALTER TABLE projects ADD COLUMN storages TEXT NOT NULL DEFAULT '{}'`,
	`ALTER TABLE projects ADD COLUMN secure_secret TEXT NOT NULL DEFAULT ''`,
	`CREATE TABLE variants (file_uuid TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (file_uuid, key))`,
	// Multipart fencing: a session being completed takes no more parts, and
	// a part being written does not count as received.
	`ALTER TABLE upload_sessions ADD COLUMN completing BIGINT NOT NULL DEFAULT 0`,
	`ALTER TABLE upload_parts ADD COLUMN writer TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE upload_parts ADD COLUMN writing BOOLEAN NOT NULL DEFAULT FALSE`,
	// Document and video conversion.
	`CREATE TABLE conversions (
		token        BIGINT PRIMARY KEY,
		project_id   BIGINT NOT NULL,
		kind         TEXT NOT NULL,
		path         TEXT NOT NULL,
		source_uuid  TEXT NOT NULL,
		result_uuid  TEXT NOT NULL,
		thumbs_group TEXT NOT NULL DEFAULT '',
		pages_group  TEXT NOT NULL DEFAULT '',
		store        TEXT NOT NULL DEFAULT '',
		save_in_group BOOLEAN NOT NULL DEFAULT FALSE,
		status       TEXT NOT NULL,
		error        TEXT NOT NULL DEFAULT '',
		progress     BIGINT NOT NULL DEFAULT 0,
		created      BIGINT NOT NULL,
		updated      BIGINT NOT NULL,
		attempts     BIGINT NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX conversions_path ON conversions (project_id, path)`,
	`CREATE INDEX conversions_source ON conversions (source_uuid)`,
	`ALTER TABLE files ADD COLUMN variations TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE projects ADD COLUMN no_conversion BOOLEAN NOT NULL DEFAULT FALSE`,
}

// migrate applies the steps a database has not seen yet, each in its own
// transaction together with the new version number.
func (db *DB) migrate(ctx context.Context) error {
	var v string
	err := db.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE name='schema_version'`).Scan(&v)
	version := 1
	if err == nil {
		if version, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("sqlstore: schema version %q: %w", v, err)
		}
	} else if err := notFound(err); !satchel.IsNotFound(err) {
		return fmt.Errorf("sqlstore: schema version: %w", err)
	}
	for i := version - 1; i < len(migrations); i++ {
		next := i + 2
		err := db.tx(ctx, func(tx execer) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("sqlstore: migration %d: %w", next, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('schema_version', ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, strconv.Itoa(next))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
