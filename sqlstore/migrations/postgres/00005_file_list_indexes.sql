-- +goose NO TRANSACTION
-- +goose Up
-- File lists read one index range in the list's order, whatever the filter:
-- an index per ordering (upload time, size) and per state a list can ask for
-- (not removed; stored; not stored; removed), the uuid last as the cursor's
-- tie-breaker. A live file is in two of each ordering's indexes, a removed
-- one in one. They replace the indexes on (project_id, uploaded, uuid) and
-- (project_id, size, uuid), which made a filtered list step over every row
-- of the other states (all of them, for a project with few removed files).
--
-- Built CONCURRENTLY, outside a transaction, so that upgrading a big files
-- table does not lock out uploads while the indexes build. Each statement
-- commits alone; an upgrade stopped midway runs the file again from the
-- start (goose records it once it all ran), so each index is dropped first:
-- a build that was interrupted leaves an invalid index, which IF NOT EXISTS
-- would keep.
DROP INDEX CONCURRENTLY IF EXISTS files_list_live_uploaded;
CREATE INDEX CONCURRENTLY files_list_live_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_stored_uploaded;
CREATE INDEX CONCURRENTLY files_list_stored_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NULL AND stored IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_unstored_uploaded;
CREATE INDEX CONCURRENTLY files_list_unstored_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NULL AND stored IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_removed_uploaded;
CREATE INDEX CONCURRENTLY files_list_removed_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_live_size;
CREATE INDEX CONCURRENTLY files_list_live_size ON files (project_id, size, uuid) WHERE removed IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_stored_size;
CREATE INDEX CONCURRENTLY files_list_stored_size ON files (project_id, size, uuid) WHERE removed IS NULL AND stored IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_unstored_size;
CREATE INDEX CONCURRENTLY files_list_unstored_size ON files (project_id, size, uuid) WHERE removed IS NULL AND stored IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_list_removed_size;
CREATE INDEX CONCURRENTLY files_list_removed_size ON files (project_id, size, uuid) WHERE removed IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS files_project_uploaded;
DROP INDEX CONCURRENTLY IF EXISTS files_project_size;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS files_project_uploaded ON files (project_id, uploaded, uuid);
CREATE INDEX CONCURRENTLY IF NOT EXISTS files_project_size ON files (project_id, size, uuid);
DROP INDEX CONCURRENTLY IF EXISTS files_list_live_uploaded;
DROP INDEX CONCURRENTLY IF EXISTS files_list_stored_uploaded;
DROP INDEX CONCURRENTLY IF EXISTS files_list_unstored_uploaded;
DROP INDEX CONCURRENTLY IF EXISTS files_list_removed_uploaded;
DROP INDEX CONCURRENTLY IF EXISTS files_list_live_size;
DROP INDEX CONCURRENTLY IF EXISTS files_list_stored_size;
DROP INDEX CONCURRENTLY IF EXISTS files_list_unstored_size;
DROP INDEX CONCURRENTLY IF EXISTS files_list_removed_size;
