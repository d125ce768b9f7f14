-- Evaluations of programmes: scored when submitted, reviewed by finance; a FINAL re-evaluation
-- supersedes the evaluation it re-checks, which is kept.

CREATE TABLE budget_evaluations (
    id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    region_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('SELF', 'DEPARTMENT', 'FINANCE_KEY', 'STAGE', 'DEPARTMENT_WHOLE', 'LOWER_GOVERNMENT', 'RE_EVALUATION')),
    year BIGINT NOT NULL,
    category TEXT NOT NULL,
    evaluator TEXT NOT NULL,
    evaluator_credit_code TEXT NOT NULL,
    total TEXT NOT NULL,
    grade TEXT NOT NULL,
    self_result TEXT NOT NULL,
    parts_json TEXT NOT NULL,
    explanation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'RETURNED', 'FINAL', 'PUBLISHED')),
    supersedes TEXT NOT NULL,
    superseded_by TEXT NOT NULL,
    report_ref TEXT NOT NULL,
    deviation_reason TEXT NOT NULL,
    evaluated_on TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    review_notes TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    -- What a self-evaluation was scored from (its indicators' targets and actuals), for the 自评表.
    input TEXT NOT NULL
);

CREATE INDEX budget_evaluations_by_programme ON budget_evaluations (programme_id, submitted_at);
CREATE INDEX budget_evaluations_for_scores ON budget_evaluations (year, category, region_code);

-- An evaluation is re-evaluated (and superseded) at most once at a time: one re-evaluation
-- under way or final per evaluation.
CREATE UNIQUE INDEX budget_evaluations_one_re_evaluation ON budget_evaluations (supersedes)
    WHERE supersedes <> '' AND status <> 'RETURNED';
