-- An import's created ids (about 20,000 a row) are kept uncompressed: compressing them was a
-- twentieth of PostgreSQL's work in a million-household import, for rows that are read only when
-- an import is looked into or undone.
ALTER TABLE roll_import_created ALTER COLUMN household_ids SET STORAGE EXTERNAL;
