-- The households an import created, one row per slice written (about 20,000 ids as a JSON array
-- in the file's order) instead of one row each in roll_import_changes: what an import created
-- is undone by deleting those ids and carries no state before, so a row per household cost the
-- database as much as the households themselves. Replaced households keep their row each, with
-- the state before, in roll_import_changes; earlier imports' 'created' rows stay there.
-- Read the ids with json_array_elements_text (PostgreSQL) or json_each (SQLite).
CREATE TABLE roll_import_created (
    import_id     TEXT   NOT NULL,
    part          BIGINT NOT NULL,
    household_ids TEXT   NOT NULL,
    PRIMARY KEY (import_id, part)
);
