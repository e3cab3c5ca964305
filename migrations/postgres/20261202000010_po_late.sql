-- When the owner was told a sent purchase order is past its vendor's lead time, so they are
-- told once.
ALTER TABLE purchase_orders ADD COLUMN late_alerted_at_ms BIGINT;
