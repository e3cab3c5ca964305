-- An approved purchase order placed in the POS's own purchase-order module (a Lightspeed
-- supplier order) remembers the POS's id for it, and each line what was booked in against it.
ALTER TABLE purchase_orders ADD COLUMN pos_order_id TEXT;
CREATE INDEX purchase_orders_pos_order ON purchase_orders (pos_order_id);
ALTER TABLE purchase_order_lines ADD COLUMN received_milli BIGINT;
