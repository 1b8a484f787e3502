-- +goose Up
-- Expiry and protected originals (set through the JSON:API v1 dialect), the
-- dialect's anonymous uploads, and its own ids and hashed access tokens.
ALTER TABLE files ADD COLUMN expires BIGINT;
ALTER TABLE files ADD COLUMN original_protected BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX files_expires ON files (expires) WHERE expires IS NOT NULL AND removed IS NULL;
ALTER TABLE upload_sessions ADD COLUMN file_expires BIGINT;
ALTER TABLE upload_sessions ADD COLUMN original_protected BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN anonymous_uploads BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE api_resources (
	id         TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	kind       TEXT NOT NULL,
	token_hash TEXT NOT NULL,
	target     TEXT NOT NULL,
	state      TEXT NOT NULL,
	created    BIGINT NOT NULL,
	removed    BIGINT
);
CREATE UNIQUE INDEX api_resources_token ON api_resources (token_hash) WHERE token_hash <> '';
CREATE INDEX api_resources_project ON api_resources (project_id, kind, created);
CREATE INDEX api_resources_target ON api_resources (project_id, kind, target);
