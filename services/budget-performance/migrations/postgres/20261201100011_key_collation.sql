-- The keys of checkpoints and warnings are codes and ids, compared byte by byte: under the
-- database's locale every index insert of a large import compared them with the locale's rules
-- (a quarter of an import's time for 150,000 warnings). Byte order is also the order SQLite
-- keeps them in, so pages follow the same order on both backends.
ALTER TABLE budget_warnings
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN programme_id TYPE TEXT COLLATE "C",
    ALTER COLUMN as_of TYPE TEXT COLLATE "C",
    ALTER COLUMN rule_id TYPE TEXT COLLATE "C",
    ALTER COLUMN subject TYPE TEXT COLLATE "C";
ALTER TABLE budget_monitoring_records
    ALTER COLUMN programme_id TYPE TEXT COLLATE "C",
    ALTER COLUMN as_of TYPE TEXT COLLATE "C";
