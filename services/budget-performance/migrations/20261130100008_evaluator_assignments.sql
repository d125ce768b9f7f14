-- Third-party evaluators and the evaluations finance assigned to them.
CREATE TABLE budget_evaluator_assignments (
    programme_id TEXT NOT NULL REFERENCES budget_programmes (id),
    kind TEXT NOT NULL,
    evaluator_subject TEXT NOT NULL,
    evaluator_name TEXT NOT NULL,
    evaluator_credit_code TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (programme_id, kind, evaluator_subject)
);
