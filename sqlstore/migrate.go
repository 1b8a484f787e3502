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
	// Expiry and protected originals (set through the JSON:API v1 dialect),
	// and the dialect's anonymous uploads.
	`ALTER TABLE files ADD COLUMN expires BIGINT`,
	`ALTER TABLE files ADD COLUMN original_protected BOOLEAN NOT NULL DEFAULT FALSE`,
	`CREATE INDEX files_expires ON files (expires) WHERE expires IS NOT NULL AND removed IS NULL`,
	`ALTER TABLE upload_sessions ADD COLUMN file_expires BIGINT`,
	`ALTER TABLE upload_sessions ADD COLUMN original_protected BOOLEAN NOT NULL DEFAULT FALSE`,
	`ALTER TABLE projects ADD COLUMN anonymous_uploads BOOLEAN NOT NULL DEFAULT FALSE`,
	// The JSON:API v1 dialect's own ids and hashed access tokens.
	`CREATE TABLE api_resources (
		id         TEXT PRIMARY KEY,
		project_id BIGINT NOT NULL,
		kind       TEXT NOT NULL,
		token_hash TEXT NOT NULL,
		target     TEXT NOT NULL,
		state      TEXT NOT NULL,
		created    BIGINT NOT NULL,
		removed    BIGINT
	)`,
	`CREATE UNIQUE INDEX api_resources_token ON api_resources (token_hash) WHERE token_hash <> ''`,
	`CREATE INDEX api_resources_project ON api_resources (project_id, kind, created)`,
	`CREATE INDEX api_resources_target ON api_resources (project_id, kind, target)`,
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
