-- The "散乱污" registry: enterprises found scattered, disorderly or polluting, with their
-- disposition and status, by county; those found by higher-level inspections are marked.
CREATE TABLE sanluanwu_entries (
    id          TEXT PRIMARY KEY,
    region_code TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    sector      TEXT   NOT NULL,
    trade       TEXT   NOT NULL,
    disposition TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    found_by    TEXT   NOT NULL,
    found_on    TEXT   NOT NULL,
    done_on     TEXT   NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    updated_at  TEXT   NOT NULL
);
CREATE INDEX sanluanwu_region ON sanluanwu_entries (region_code, id);
