CREATE TABLE IF NOT EXISTS settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
	id             INTEGER PRIMARY KEY,
	name           TEXT NOT NULL,
	public_key     TEXT NOT NULL UNIQUE,
	secret_key     TEXT NOT NULL,
	autostore      BOOLEAN NOT NULL,
	signed_uploads BOOLEAN NOT NULL,
	max_file_size  BIGINT NOT NULL,
	allowed_types  TEXT NOT NULL,
	created        BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
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
CREATE INDEX IF NOT EXISTS files_project_uploaded ON files (project_id, uploaded, uuid);
CREATE INDEX IF NOT EXISTS files_temporary ON files (uploaded) WHERE stored IS NULL AND removed IS NULL;
CREATE INDEX IF NOT EXISTS files_source_url ON files (project_id, source_url) WHERE source_url <> '';
CREATE INDEX IF NOT EXISTS files_blob ON files (blob_key);
CREATE TABLE IF NOT EXISTS upload_sessions (
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
	upload            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS upload_sessions_expires ON upload_sessions (expires);
CREATE INDEX IF NOT EXISTS upload_sessions_upload ON upload_sessions (upload);
CREATE TABLE IF NOT EXISTS upload_parts (
	session_uuid TEXT NOT NULL,
	n            INTEGER NOT NULL,
	size         BIGINT NOT NULL,
	checksum     TEXT NOT NULL,
	PRIMARY KEY (session_uuid, n)
);
CREATE TABLE IF NOT EXISTS fetch_tasks (
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
	attempts   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fetch_tasks_status ON fetch_tasks (status);
CREATE TABLE IF NOT EXISTS groups (
	id         TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	created    BIGINT NOT NULL,
	stored     BIGINT,
	removed    BIGINT,
	members    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_project_created ON groups (project_id, created, id);
CREATE TABLE IF NOT EXISTS events (
	id         TEXT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	type       TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_created ON events (created);
CREATE TABLE IF NOT EXISTS project_counters (
	project_id BIGINT PRIMARY KEY,
	stored     BIGINT NOT NULL,
	unstored   BIGINT NOT NULL,
	removed    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_project_size ON files (project_id, size, uuid);
