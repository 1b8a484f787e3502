-- The schema of Satchel as of 2026-12-02 (SQLite): what schema.sql,
-- schemaWebhooks and the seven steps of the old migrations list created
-- (settings.schema_version 8), column for column. A database made by that
-- code is adopted with this file marked as applied (see migrate.go).
-- Never edit an applied file: add a numbered one.

-- +goose Up
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE projects (
	id             INTEGER PRIMARY KEY,
	name           TEXT NOT NULL,
	public_key     TEXT NOT NULL UNIQUE,
	secret_key     TEXT NOT NULL,
	autostore      BOOLEAN NOT NULL,
	signed_uploads BOOLEAN NOT NULL,
	max_file_size  BIGINT NOT NULL,
	allowed_types  TEXT NOT NULL,
	created        BIGINT NOT NULL,
	storages       TEXT NOT NULL DEFAULT '{}',
	secure_secret  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE files (
	uuid              TEXT PRIMARY KEY,
	project_id        BIGINT NOT NULL,
	size              BIGINT NOT NULL,
	mime_type         TEXT NOT NULL,
	original_filename TEXT NOT NULL,
	filename          TEXT NOT NULL,
	blob_key          TEXT NOT NULL,
	checksum          TEXT NOT NULL,
	is_image          BOOLEAN NOT NULL,
	is_ready          BOOLEAN NOT NULL,
	uploaded          BIGINT NOT NULL,
	stored            BIGINT,
	removed           BIGINT,
	source            TEXT NOT NULL,
	source_url        TEXT NOT NULL,
	content_info      TEXT NOT NULL,
	metadata          TEXT NOT NULL,
	tags              TEXT NOT NULL
);
CREATE INDEX files_project_uploaded ON files (project_id, uploaded, uuid);
CREATE INDEX files_temporary ON files (uploaded) WHERE stored IS NULL AND removed IS NULL;
CREATE INDEX files_source_url ON files (project_id, source_url) WHERE source_url <> '';
CREATE INDEX files_blob ON files (blob_key);
CREATE INDEX files_project_size ON files (project_id, size, uuid);
CREATE TABLE upload_sessions (
	uuid              TEXT PRIMARY KEY,
	project_id        BIGINT NOT NULL,
	size              BIGINT NOT NULL,
	part_size         BIGINT NOT NULL,
	content_type      TEXT NOT NULL,
	original_filename TEXT NOT NULL,
	store             TEXT NOT NULL,
	metadata          TEXT NOT NULL,
	tags              TEXT NOT NULL,
	source            TEXT NOT NULL,
	created           BIGINT NOT NULL,
	expires           BIGINT NOT NULL,
	upload            TEXT NOT NULL,
	-- completing: when the session began being completed (0: open).
	completing        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX upload_sessions_expires ON upload_sessions (expires);
CREATE INDEX upload_sessions_upload ON upload_sessions (upload);
CREATE TABLE upload_parts (
	session_uuid TEXT NOT NULL,
	n            INTEGER NOT NULL,
	size         BIGINT NOT NULL,
	checksum     TEXT NOT NULL,
	writer       TEXT NOT NULL DEFAULT '',
	writing      BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (session_uuid, n)
);
CREATE TABLE fetch_tasks (
	token      TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	source_url TEXT NOT NULL,
	status     TEXT NOT NULL,
	done       BIGINT NOT NULL,
	total      BIGINT NOT NULL,
	error_code TEXT NOT NULL,
	error_text TEXT NOT NULL,
	file_uuid  TEXT NOT NULL,
	params     TEXT NOT NULL,
	created    BIGINT NOT NULL,
	updated    BIGINT NOT NULL,
	attempts   INTEGER NOT NULL,
	-- lease_until is unused (River runs the tasks); it stays 0.
	lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX fetch_tasks_status ON fetch_tasks (status);
CREATE TABLE groups (
	id         TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	created    BIGINT NOT NULL,
	stored     BIGINT,
	removed    BIGINT,
	members    TEXT NOT NULL
);
CREATE INDEX groups_project_created ON groups (project_id, created, id);
CREATE TABLE events (
	id         TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	type       TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created    BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created);
CREATE TABLE project_counters (
	project_id BIGINT PRIMARY KEY,
	stored     BIGINT NOT NULL,
	unstored   BIGINT NOT NULL,
	removed    BIGINT NOT NULL
);
CREATE TABLE webhooks (
	id             INTEGER PRIMARY KEY,
	project_id     BIGINT NOT NULL,
	event          TEXT NOT NULL,
	target_url     TEXT NOT NULL,
	is_active      BOOLEAN NOT NULL,
	signing_secret TEXT NOT NULL,
	version        TEXT NOT NULL,
	created        BIGINT NOT NULL,
	updated        BIGINT NOT NULL,
	UNIQUE (project_id, event, target_url)
);
CREATE TABLE deliveries (
	id            TEXT PRIMARY KEY,
	event_id      TEXT NOT NULL,
	webhook_id    BIGINT NOT NULL,
	project_id    BIGINT NOT NULL,
	attempts      INTEGER NOT NULL,
	next_attempt  BIGINT NOT NULL,
	-- lease_until is unused (River runs the deliveries); it stays 0.
	lease_until   BIGINT NOT NULL,
	status        TEXT NOT NULL,
	last_status   INTEGER NOT NULL,
	last_response TEXT NOT NULL,
	last_error    TEXT NOT NULL,
	updated       BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);
CREATE INDEX deliveries_project_updated ON deliveries (project_id, updated);
CREATE INDEX deliveries_leased ON deliveries (status, lease_until);
CREATE TABLE variants (
	file_uuid TEXT NOT NULL,
	key       TEXT NOT NULL,
	PRIMARY KEY (file_uuid, key)
);

-- +goose Down
DROP TABLE variants;
DROP TABLE deliveries;
DROP TABLE webhooks;
DROP TABLE project_counters;
DROP TABLE events;
DROP TABLE groups;
DROP TABLE fetch_tasks;
DROP TABLE upload_parts;
DROP TABLE upload_sessions;
DROP TABLE files;
DROP TABLE projects;
DROP TABLE settings;
