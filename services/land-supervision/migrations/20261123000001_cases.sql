-- Cases of the land procedures: low-efficiency identification and comprehensive health checks.
CREATE TABLE land_cases (
    id           TEXT PRIMARY KEY,
    kind         TEXT   NOT NULL,
    region_code  TEXT   NOT NULL,
    subject_id   TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    deadline     TEXT   NOT NULL DEFAULT '',
    facts_json   TEXT   NOT NULL DEFAULT '',
    result_json  TEXT   NOT NULL DEFAULT '',
    version      BIGINT NOT NULL,
    created_at   TEXT   NOT NULL,
    updated_at   TEXT   NOT NULL
);
CREATE INDEX land_cases_region ON land_cases (region_code, id);

-- Every step of a case, in order; never changed.
CREATE TABLE land_case_events (
    case_id   TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    state     TEXT   NOT NULL,
    on_date   TEXT   NOT NULL,
    at        TEXT   NOT NULL,
    actor     TEXT   NOT NULL,
    note      TEXT   NOT NULL DEFAULT '',
    deadline  TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, seq)
);
