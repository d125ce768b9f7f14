-- Standards published through the API (the policy book's files hold the seeded ones).
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

-- The roll: one row per household; members and their incomes as a JSON document.
CREATE TABLE households (
    id                  TEXT PRIMARY KEY,
    region_code         TEXT   NOT NULL,
    residence           TEXT   NOT NULL,
    category            TEXT   NOT NULL,
    status              TEXT   NOT NULL,
    member_count        BIGINT NOT NULL,
    members_json        TEXT   NOT NULL,
    monthly_benefit_fen BIGINT NOT NULL,
    computed_on         TEXT   NOT NULL,
    version             BIGINT NOT NULL,
    updated_at          TEXT   NOT NULL
);
CREATE INDEX households_region ON households (region_code, id);

-- Payment history: one row per household, month and kind ('regular' or 'back_pay:<job>').
CREATE TABLE payments (
    household_id TEXT   NOT NULL,
    month        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    amount_fen   BIGINT NOT NULL,
    paid_at      TEXT   NOT NULL,
    PRIMARY KEY (household_id, month, kind)
);

CREATE TABLE recalc_jobs (
    id             TEXT PRIMARY KEY,
    region_code    TEXT   NOT NULL,
    effective_from TEXT   NOT NULL,
    state          TEXT   NOT NULL,
    total          BIGINT NOT NULL,
    reason         TEXT   NOT NULL DEFAULT '',
    created_by     TEXT   NOT NULL,
    created_at     TEXT   NOT NULL,
    finished_at    TEXT   NOT NULL DEFAULT '',
    error          TEXT   NOT NULL DEFAULT ''
);

-- Work units of a job: claimed by one worker at a time; a stale claim may be taken over.
CREATE TABLE recalc_chunks (
    job_id     TEXT   NOT NULL,
    chunk_no   BIGINT NOT NULL,
    first_id   TEXT   NOT NULL,
    last_id    TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    claimed_by TEXT   NOT NULL DEFAULT '',
    claimed_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, chunk_no)
);

-- One row per case and job: the primary key makes "recorded exactly once" a database fact.
CREATE TABLE recalc_cases (
    job_id           TEXT   NOT NULL,
    household_id     TEXT   NOT NULL,
    region_code      TEXT   NOT NULL,
    old_fen          BIGINT NOT NULL,
    new_fen          BIGINT NOT NULL,
    diff_fen         BIGINT NOT NULL,
    months_back_paid BIGINT NOT NULL,
    back_pay_fen     BIGINT NOT NULL,
    PRIMARY KEY (job_id, household_id)
);

-- Recalculation rewrites every household's amount: leave room on each page so that those
-- updates stay on the page (HOT) and do not touch the indexes.
ALTER TABLE households SET (fillfactor = 80);
