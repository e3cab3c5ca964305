-- Purchase orders get short numbers a person can say (PO-1043), allocated as they are drafted;
-- the draft key (day, vendor, location) keeps a reorder run from drafting the same order twice.
ALTER TABLE purchase_orders ADD COLUMN draft_key TEXT;
CREATE UNIQUE INDEX purchase_orders_draft_key ON purchase_orders (draft_key);
