-- One row per scheduled job and day: inserted by whichever process claims the run, so a run
-- happens once however many processes share the database, and a run missed while everything
-- was down is seen (and made up once) at the next start.
CREATE TABLE scheduled_runs (
    job TEXT NOT NULL,
    run_date TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at_ms BIGINT NOT NULL,
    finished_at_ms BIGINT,
    outcome TEXT,
    PRIMARY KEY (job, run_date)
);
