-- +goose Up
-- Limits of the JSON:API v1 dialect's anonymous uploads: creates per minute
-- and client address, largest file, allowed MIME patterns (JSON list). Zero
-- and an empty list mean the defaults.
ALTER TABLE projects ADD COLUMN anonymous_rate_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN anonymous_max_file_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN anonymous_types TEXT NOT NULL DEFAULT '[]';
