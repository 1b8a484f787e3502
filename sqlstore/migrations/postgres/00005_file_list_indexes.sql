-- +goose Up
-- File lists read one index range in the list's order, whatever the filter:
-- an index per ordering (upload time, size) and per state a list can ask for
-- (not removed; stored; not stored; removed), the uuid last as the cursor's
-- tie-breaker. A live file is in two of each ordering's indexes, a removed
-- one in one. They replace the indexes on (project_id, uploaded, uuid) and
-- (project_id, size, uuid), which made a filtered list step over every row
-- of the other states (all of them, for a project with few removed files).
CREATE INDEX files_list_live_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NULL;
CREATE INDEX files_list_stored_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NULL AND stored IS NOT NULL;
CREATE INDEX files_list_unstored_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NULL AND stored IS NULL;
CREATE INDEX files_list_removed_uploaded ON files (project_id, uploaded, uuid) WHERE removed IS NOT NULL;
CREATE INDEX files_list_live_size ON files (project_id, size, uuid) WHERE removed IS NULL;
CREATE INDEX files_list_stored_size ON files (project_id, size, uuid) WHERE removed IS NULL AND stored IS NOT NULL;
CREATE INDEX files_list_unstored_size ON files (project_id, size, uuid) WHERE removed IS NULL AND stored IS NULL;
CREATE INDEX files_list_removed_size ON files (project_id, size, uuid) WHERE removed IS NOT NULL;
DROP INDEX files_project_uploaded;
DROP INDEX files_project_size;

-- +goose Down
CREATE INDEX files_project_uploaded ON files (project_id, uploaded, uuid);
CREATE INDEX files_project_size ON files (project_id, size, uuid);
DROP INDEX files_list_live_uploaded;
DROP INDEX files_list_stored_uploaded;
DROP INDEX files_list_unstored_uploaded;
DROP INDEX files_list_removed_uploaded;
DROP INDEX files_list_live_size;
DROP INDEX files_list_stored_size;
DROP INDEX files_list_unstored_size;
DROP INDEX files_list_removed_size;
