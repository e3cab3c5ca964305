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
    at_ms INTEGER NOT NULL,
    total_cents INTEGER NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('on', 'shadow')),
    risk_milli INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    gift_cards INTEGER NOT NULL,
    voids INTEGER NOT NULL,
    overrides INTEGER NOT NULL,
    approval_id TEXT,
    callback_url TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX reviews_at ON reviews (at_ms);
CREATE INDEX reviews_approval ON reviews (approval_id);
