-- +goose Up
-- Retention (PruneHistory) finds old finished deliveries by their last
-- update, and old events no delivery refers to, without scanning the
-- deliveries once per event.
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_updated ON deliveries (updated);

-- +goose Down
DROP INDEX deliveries_updated;
DROP INDEX deliveries_event;
