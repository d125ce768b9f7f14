-- PostgreSQL keeps an import's created ids uncompressed from this version; SQLite never
-- compresses them, so nothing changes here (the version is kept in step with PostgreSQL's).
SELECT 1;
