-- Inbox workers claim events with a lease, so several processes can share the work and a
-- crashed worker's events are picked up again when the lease runs out.
ALTER TABLE inbox ADD COLUMN locked_by TEXT;
ALTER TABLE inbox ADD COLUMN locked_until_ms INTEGER;
CREATE INDEX inbox_object ON inbox (source, object_id, state);
