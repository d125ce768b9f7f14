-- Budget programmes and their versioned goal sets. One source for SQLite and PostgreSQL: the
-- statements are in the subset both accept (TEXT ids and dates, BIGINT fen and flags).

CREATE TABLE budget_programmes (
    id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    budget_year BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    budget_kind TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    owner_role TEXT NOT NULL,
    owner_unit TEXT NOT NULL,
    responsible_person TEXT NOT NULL,
    initial_budget_fen BIGINT NOT NULL CHECK (initial_budget_fen >= 0),
    adjusted_budget_fen BIGINT NOT NULL CHECK (adjusted_budget_fen > 0),
    is_new BIGINT NOT NULL CHECK (is_new IN (0, 1)),
    is_major BIGINT NOT NULL CHECK (is_major IN (0, 1)),
    policy_end_date TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    updated_at TEXT NOT NULL,
    UNIQUE (region_code, budget_year, code)
);

CREATE INDEX budget_programmes_by_year_region ON budget_programmes (budget_year, region_code, id);

CREATE TABLE budget_goal_sets (
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    version BIGINT NOT NULL CHECK (version >= 1),
    status TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'APPROVED', 'RETURNED', 'REJECTED', 'SUPERSEDED')),
    goals_json TEXT NOT NULL,
    findings_json TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    review_grade TEXT NOT NULL DEFAULT '',
    review_opinion TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL DEFAULT '',
    in_force_from TEXT NOT NULL DEFAULT '',
    adjustment_document TEXT NOT NULL DEFAULT '',
    adjustment_date TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (programme_id, version)
);

-- A programme has at most one approved goal set at a time (an amendment supersedes the last).
CREATE UNIQUE INDEX budget_goal_sets_one_approved ON budget_goal_sets (programme_id) WHERE status = 'APPROVED';
