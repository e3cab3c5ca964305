-- Outbox workers claim messages with a lease, as inbox workers do, so several processes can
-- share sending and a crashed worker's messages go out when the lease runs out. Messages to
-- one conversation go out in order.
ALTER TABLE outbox ADD COLUMN locked_by TEXT;
ALTER TABLE outbox ADD COLUMN locked_until_ms BIGINT;
CREATE INDEX outbox_conversation ON outbox (channel, target, state);
