-- What the owner or a manager said about an anomaly alert: expected (the alert taught us
-- nothing; later alerts on the item and location need a bigger change) or investigate.
CREATE TABLE anomaly_feedback (
    variation_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    day TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('expected', 'investigate')),
    decided_by TEXT NOT NULL,
    decided_at_ms BIGINT NOT NULL,
    PRIMARY KEY (variation_id, location_id, day)
);
