-- Government-debt risk events (三政办〔2017〕25号 4.2–5.2): one per county-level government while
-- open; the level only rises until the event is terminated with the approval of the level above.
CREATE TABLE budget_debt_events (
    id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    level BIGINT NOT NULL CHECK (level BETWEEN 1 AND 4),
    started_on TEXT NOT NULL,
    -- JSON list of {level, on, basis, by}: every level the event had, oldest first.
    history_json TEXT NOT NULL,
    ended_on TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    termination_basis TEXT NOT NULL,
    is_open BIGINT NOT NULL CHECK (is_open IN (0, 1)),
    version BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (is_open = 1 OR ended_on <> '')
);

-- At most one open event per government: a second one raises the level of the first.
CREATE UNIQUE INDEX budget_debt_events_one_open ON budget_debt_events (region_code) WHERE is_open = 1;
CREATE INDEX budget_debt_events_region ON budget_debt_events (region_code, started_on);
