-- Ex-ante assessments of programmes, as scored when recorded.

CREATE TABLE budget_ex_ante (
    id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    region_code TEXT NOT NULL,
    conclusion TEXT NOT NULL CHECK (conclusion IN ('SUPPORT', 'SUPPORT_AFTER_REVISION', 'NOT_SUPPORTED')),
    total TEXT NOT NULL,
    result TEXT NOT NULL,
    assessor TEXT NOT NULL,
    report_ref TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE INDEX budget_ex_ante_by_programme ON budget_ex_ante (programme_id, recorded_at);
