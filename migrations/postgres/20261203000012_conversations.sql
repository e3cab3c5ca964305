-- What a conversation remembers between messages, per channel and person: the numbered
-- choices of the last reply (JSON), until it expires.
CREATE TABLE conversations (
    channel TEXT NOT NULL,
    person TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel, person)
);
