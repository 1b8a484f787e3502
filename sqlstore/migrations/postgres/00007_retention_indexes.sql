-- +goose NO TRANSACTION
-- +goose Up
-- Retention (PruneHistory) finds old finished deliveries by their last
-- update, and old events no delivery refers to, without scanning the
-- deliveries once per event.
--
-- Built CONCURRENTLY, outside a transaction, so that upgrading a big
-- deliveries table does not stop webhook deliveries while the indexes
-- build; each index is dropped first so that a run stopped midway (goose
-- runs the file again from the start) replaces a half-built, invalid one.
DROP INDEX CONCURRENTLY IF EXISTS deliveries_event;
CREATE INDEX CONCURRENTLY deliveries_event ON deliveries (event_id);
DROP INDEX CONCURRENTLY IF EXISTS deliveries_updated;
CREATE INDEX CONCURRENTLY deliveries_updated ON deliveries (updated);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS deliveries_updated;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_event;
