-- A customer who asked for a person: who they are and where to answer them, until a team
-- member closes it. `handoff_messages` are the team's posts of it, so a reply in one of their
-- threads finds the customer.
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_name TEXT NOT NULL,
    customer_channel TEXT NOT NULL,
    customer_address TEXT NOT NULL,
    opened_at_ms BIGINT NOT NULL,
    closed_at_ms BIGINT,
    closed_by TEXT
);
CREATE TABLE handoff_messages (
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    message_id TEXT NOT NULL,
    handoff_id BIGINT NOT NULL REFERENCES handoffs (id),
    PRIMARY KEY (channel, target, message_id)
);
