-- What each roll import did to each household: created, or replaced with the state it had
-- before. The import's audit entry carries the import id and the counts; these rows name every
-- record, so an auditor can see and restore what an import overwrote.
CREATE TABLE roll_import_changes (
    import_id           TEXT   NOT NULL,
    household_id        TEXT   NOT NULL,
    action              TEXT   NOT NULL,
    before_region_code  TEXT,
    before_residence    TEXT,
    before_category     TEXT,
    before_status       TEXT,
    before_members_json TEXT,
    before_benefit_fen  BIGINT,
    before_computed_on  TEXT,
    before_version      BIGINT,
    PRIMARY KEY (import_id, household_id)
);
