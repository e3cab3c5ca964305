-- Tillpilot core schema (PostgreSQL). Portable types only: integers for money (cents), times
-- (unix milliseconds) and quantities (thousandths); TEXT for JSON. Keep in step with
-- ../sqlite/20261126000001_core.sql.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE people (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'staff')),
    phone TEXT
);

CREATE TABLE identities (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (channel, external_id)
);

CREATE TABLE inbox (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    object_id TEXT,
    payload TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'parked')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    last_error TEXT,
    processed_at_ms BIGINT,
    UNIQUE (source, event_id)
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at_ms);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'parked')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    sent_at_ms BIGINT,
    external_ref TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The chain's head: one row, updated in the same transaction as every append, so appends are
-- serialised and truncating the log's tail is detectable.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
    required_role TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    decided_by TEXT,
    decided_at_ms BIGINT,
    message_refs TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX approvals_pending ON approvals (state, expires_at_ms);

CREATE TABLE feature_flags (
    flag TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('off', 'shadow', 'on')),
    updated_by TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (flag, location)
);

CREATE TABLE purchase_orders (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'sent', 'received', 'rejected', 'expired')),
    total_cents BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    decided_by TEXT,
    decided_at_ms BIGINT,
    sent_at_ms BIGINT,
    received_at_ms BIGINT,
    detail TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE purchase_order_lines (
    po_id TEXT NOT NULL REFERENCES purchase_orders (id) ON DELETE CASCADE,
    line_no BIGINT NOT NULL,
    variation_id TEXT NOT NULL,
    quantity_milli BIGINT NOT NULL,
    unit_cost_cents BIGINT NOT NULL,
    explanation TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (po_id, line_no)
);
CREATE INDEX purchase_order_lines_variation ON purchase_order_lines (variation_id);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL
);

CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE catalog_items (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category_id TEXT,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE catalog_variations (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES catalog_items (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sku TEXT,
    price_cents BIGINT NOT NULL,
    low_stock_at_milli BIGINT
);
CREATE INDEX catalog_variations_item ON catalog_variations (item_id);

CREATE TABLE stock_levels (
    variation_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    on_hand_milli BIGINT NOT NULL,
    counted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (variation_id, location_id)
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone TEXT,
    email TEXT
);
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_email ON customers (email);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    location_id TEXT NOT NULL,
    customer_id TEXT,
    created_at_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    discount_cents BIGINT NOT NULL,
    refunded_cents BIGINT NOT NULL,
    fulfilment TEXT,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX orders_number ON orders (number);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_created ON orders (created_at_ms);

CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no BIGINT NOT NULL,
    variation_id TEXT,
    name TEXT NOT NULL,
    quantity_milli BIGINT NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    discount_cents BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    location_id TEXT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_variation ON order_lines (variation_id, created_at_ms);

CREATE TABLE vendors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    lead_time_days BIGINT NOT NULL,
    minimum_order_cents BIGINT NOT NULL
);

CREATE TABLE vendor_items (
    vendor_id TEXT NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    variation_id TEXT NOT NULL,
    unit_cost_cents BIGINT NOT NULL,
    pack_size BIGINT NOT NULL,
    minimum_quantity BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, variation_id)
);
CREATE INDEX vendor_items_variation ON vendor_items (variation_id);

CREATE TABLE consents (
    phone TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('opted_in', 'opted_out')),
    keyword TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE llm_calls (
    id BIGSERIAL PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    latency_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL
);
