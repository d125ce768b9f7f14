-- Where a bulk import on PostgreSQL copies its rows (COPY) before moving them into the tables
-- within the import's transaction; emptied by that same transaction. Unused on SQLite.
CREATE TABLE budget_stage_records (
    import_id TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    as_of TEXT NOT NULL,
    version BIGINT NOT NULL,
    goal_version BIGINT NOT NULL,
    budget_fen BIGINT NOT NULL,
    arrived_fen BIGINT NOT NULL,
    paid_fen BIGINT NOT NULL,
    spent_fen BIGINT NOT NULL,
    expected_carryover_fen BIGINT NOT NULL,
    indicators_json TEXT NOT NULL,
    rule_set_id TEXT NOT NULL,
    correction_reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX budget_stage_records_by_import ON budget_stage_records (import_id);

CREATE TABLE budget_stage_warnings (
    import_id TEXT NOT NULL,
    id TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    as_of TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    figure TEXT NOT NULL,
    threshold TEXT NOT NULL,
    record_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX budget_stage_warnings_by_import ON budget_stage_warnings (import_id);
