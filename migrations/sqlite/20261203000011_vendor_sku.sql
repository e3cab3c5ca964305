-- The vendor's own code for an item (Lightspeed's supplier code), printed on its orders.
ALTER TABLE vendor_items ADD COLUMN vendor_sku TEXT;
