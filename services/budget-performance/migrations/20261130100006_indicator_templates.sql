-- The indicator library: templates per region, dated and versioned.

CREATE TABLE budget_indicator_templates (
    region_code TEXT NOT NULL,
    code TEXT NOT NULL,
    body_json TEXT NOT NULL,
    level1 TEXT NOT NULL,
    domains TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (region_code, code)
);
