-- Checkout reviews: one row for each cart the POS middleware posted (in shadow mode too), as
-- the fraud windows, the daily summary and the decision callbacks read them.
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    location_id TEXT,
    register_id TEXT NOT NULL,
    cashier_id TEXT,
    loyalty_id TEXT,
    at_ms BIGINT NOT NULL,
    total_cents BIGINT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('on', 'shadow')),
    risk_milli BIGINT NOT NULL,
    flagged BIGINT NOT NULL,
    gift_cards BIGINT NOT NULL,
    voids BIGINT NOT NULL,
    overrides BIGINT NOT NULL,
    approval_id TEXT,
    callback_url TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX reviews_at ON reviews (at_ms);
CREATE INDEX reviews_approval ON reviews (approval_id);
