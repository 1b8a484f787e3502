-- +goose Up
-- Add-ons: results on the file (appdata), executions with their status.
ALTER TABLE files ADD COLUMN appdata TEXT NOT NULL DEFAULT '{}';
CREATE TABLE addon_requests (
	id         TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	addon      TEXT NOT NULL,
	target     TEXT NOT NULL,
	params     TEXT NOT NULL,
	status     TEXT NOT NULL,
	error      TEXT NOT NULL,
	result     TEXT NOT NULL,
	created    BIGINT NOT NULL,
	updated    BIGINT NOT NULL
);
CREATE UNIQUE INDEX addon_requests_running ON addon_requests (addon, target) WHERE status = 'in_progress';
