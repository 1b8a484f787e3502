-- +goose Up
-- Document and video conversions: their jobs' state and results, the
-- source files' variations, and the per-project switch.
CREATE TABLE conversions (
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
);
CREATE INDEX conversions_path ON conversions (project_id, path);
CREATE INDEX conversions_source ON conversions (source_uuid);
ALTER TABLE files ADD COLUMN variations TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN no_conversion BOOLEAN NOT NULL DEFAULT FALSE;
