-- Limits published through the API (each bureau publishes and adjusts its own), kept like the
-- policy book's files: dated, cited, per region; loaded into the book at start-up.
CREATE TABLE published_standards (
    id             BIGSERIAL PRIMARY KEY,
    key            TEXT NOT NULL,
    region_code    TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    value          TEXT NOT NULL,
    rule           TEXT NOT NULL DEFAULT '',
    rounding       TEXT NOT NULL DEFAULT '',
    document       TEXT NOT NULL,
    title          TEXT NOT NULL,
    clause         TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    published_by   TEXT NOT NULL,
    published_at   TEXT NOT NULL,
    UNIQUE (key, region_code, effective_from)
);
