-- The shop's rules added from chat (`rule add ...`), in plain words, shown to the LLM as
-- rules beside `policy.rules`. A removed rule keeps its row, with when and by whom.
CREATE TABLE shop_rules (
    id BIGSERIAL PRIMARY KEY,
    text TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at_ms BIGINT NOT NULL,
    removed_by TEXT,
    removed_at_ms BIGINT
);
