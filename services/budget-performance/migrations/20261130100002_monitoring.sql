-- Monitoring checkpoints (versioned: a correction adds a version) with the rule set their
-- warnings were computed under, the warnings they raise (one per programme, checkpoint, rule
-- and subject) and payment holds (one open hold per programme).

-- The thresholds (with their sources) a checkpoint was judged by; one row serves a whole import.
CREATE TABLE budget_monitoring_rule_sets (
    id TEXT PRIMARY KEY,
    rules_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE budget_monitoring_records (
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    as_of TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    goal_version BIGINT NOT NULL,
    budget_fen BIGINT NOT NULL CHECK (budget_fen > 0),
    arrived_fen BIGINT NOT NULL CHECK (arrived_fen >= 0),
    paid_fen BIGINT NOT NULL CHECK (paid_fen >= 0),
    spent_fen BIGINT NOT NULL CHECK (spent_fen >= 0 AND spent_fen <= budget_fen AND spent_fen <= arrived_fen),
    expected_carryover_fen BIGINT NOT NULL CHECK (expected_carryover_fen >= 0),
    indicators_json TEXT NOT NULL,
    rule_set_id TEXT NOT NULL REFERENCES budget_monitoring_rule_sets (id),
    import_id TEXT NOT NULL,
    correction_reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (programme_id, as_of, version)
);

CREATE TABLE budget_warnings (
    id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    region_code TEXT NOT NULL,
    as_of TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    figure TEXT NOT NULL,
    threshold TEXT NOT NULL,
    record_version BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'ESCALATED')),
    note TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    UNIQUE (programme_id, as_of, rule_id, subject)
);

CREATE INDEX budget_warnings_by_region ON budget_warnings (region_code, as_of, id);
-- A checkpoint's warnings paged in id order.
CREATE INDEX budget_warnings_by_checkpoint ON budget_warnings (as_of, id);

CREATE TABLE budget_payment_holds (
    id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    region_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('SUSPEND', 'STOP')),
    reason TEXT NOT NULL CHECK (reason <> ''),
    warning_ids TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_on TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    lifted_by TEXT NOT NULL,
    lifted_on TEXT NOT NULL,
    lift_reason TEXT NOT NULL,
    is_open BIGINT NOT NULL CHECK (is_open IN (0, 1))
);

-- At most one open hold per programme: a second decision lifts the first or waits.
CREATE UNIQUE INDEX budget_payment_holds_one_open ON budget_payment_holds (programme_id) WHERE is_open = 1;
