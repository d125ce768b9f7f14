-- Cluster land-efficiency evaluations, one per cluster and year (the latest recording wins).
CREATE TABLE cluster_evaluations (
    cluster_id   TEXT   NOT NULL,
    year         BIGINT NOT NULL,
    region_code  TEXT   NOT NULL,
    scheme       TEXT   NOT NULL,
    result_json  TEXT   NOT NULL,
    evaluated_at TEXT   NOT NULL,
    PRIMARY KEY (cluster_id, year)
);

-- The year's "危污乱散低" targets of a city or county, per town (versioned).
CREATE TABLE campaign_targets (
    region_code TEXT   NOT NULL,
    year        BIGINT NOT NULL,
    document    TEXT   NOT NULL,
    towns_json  TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  TEXT   NOT NULL,
    PRIMARY KEY (region_code, year)
);

-- Towns' monthly completion reports and the office's verification of each.
CREATE TABLE campaign_reports (
    region_code        TEXT   NOT NULL,
    year               BIGINT NOT NULL,
    town               TEXT   NOT NULL,
    month              BIGINT NOT NULL,
    completed_area_mu  TEXT   NOT NULL,
    contiguous_area_mu TEXT   NOT NULL,
    parks              BIGINT NOT NULL,
    reported_on        TEXT   NOT NULL,
    reporter           TEXT   NOT NULL,
    note               TEXT   NOT NULL DEFAULT '',
    verified_area_mu   TEXT   NOT NULL DEFAULT '',
    verified_parks     BIGINT NOT NULL DEFAULT 0,
    verified_on        TEXT   NOT NULL DEFAULT '',
    verifier           TEXT   NOT NULL DEFAULT '',
    verify_note        TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (region_code, year, town, month)
);

-- The town or cluster a case belongs to ('' for the whole region).
ALTER TABLE land_cases ADD COLUMN unit TEXT NOT NULL DEFAULT '';
