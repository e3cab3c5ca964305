-- An approved purchase order recorded in the accounting platform (QuickBooks Online)
-- remembers the platform's id for it.
ALTER TABLE purchase_orders ADD COLUMN accounting_id TEXT;
