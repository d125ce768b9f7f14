-- Enterprises' yearly figures as reported by the bureaus that own them, one row per enterprise
-- and year; the figures are named indicator values (e.g. 亩均税收).
CREATE TABLE enterprise_figures (
    year          BIGINT NOT NULL,
    enterprise_id TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    region_code   TEXT   NOT NULL,
    values_json   TEXT   NOT NULL,
    imported_at   TEXT   NOT NULL,
    PRIMARY KEY (year, enterprise_id)
);
CREATE INDEX enterprise_figures_region ON enterprise_figures (year, region_code);

-- Per-mu evaluation results kept per year and scheme.
CREATE TABLE per_mu_results (
    year          BIGINT NOT NULL,
    scheme        TEXT   NOT NULL,
    enterprise_id TEXT   NOT NULL,
    region_code   TEXT   NOT NULL,
    score         TEXT   NOT NULL,
    rank          BIGINT NOT NULL,
    class         TEXT   NOT NULL,
    note          TEXT   NOT NULL,
    evaluated_at  TEXT   NOT NULL,
    PRIMARY KEY (year, scheme, enterprise_id)
);
