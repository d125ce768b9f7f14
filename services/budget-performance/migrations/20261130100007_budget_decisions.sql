-- What finance decided for next year's budget from a FINAL evaluation, apart from the proposal.
CREATE TABLE budget_decisions (
    id TEXT PRIMARY KEY,
    evaluation_id TEXT NOT NULL REFERENCES budget_evaluations (id),
    programme_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    next_year BIGINT NOT NULL,
    body_json TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_on TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (evaluation_id, next_year)
);
