-- SQLite compares these keys byte by byte already (BINARY); the PostgreSQL version of this
-- migration makes them so there.
SELECT 1;
