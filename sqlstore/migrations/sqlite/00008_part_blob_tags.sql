-- +goose Up
-- blob_tag: what the blob store answered for the write that stored the part
-- (an S3 part's ETag). Completion hands these to the store, which refuses a
-- part replaced since by a write nobody acknowledged; '' means unknown.
ALTER TABLE upload_parts ADD COLUMN blob_tag TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE upload_parts DROP COLUMN blob_tag;
