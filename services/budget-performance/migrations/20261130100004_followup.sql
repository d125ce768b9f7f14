-- Rectification orders (their five-column items as JSON) and disclosure records.

CREATE TABLE budget_rectifications (
    id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    items_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ISSUED', 'REPORTED', 'VERIFIED', 'REOPENED')),
    issued_by TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    verified_by TEXT NOT NULL,
    verified_at TEXT NOT NULL,
    verification_notes TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1)
);

CREATE INDEX budget_rectifications_by_region ON budget_rectifications (region_code, issued_on, id);

CREATE TABLE budget_disclosures (
    id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    item TEXT NOT NULL,
    title TEXT NOT NULL,
    start_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    published_on TEXT NOT NULL,
    url TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    CHECK (published_on = '' OR published_on >= start_on)
);

CREATE INDEX budget_disclosures_by_region ON budget_disclosures (region_code, due_on, id);
