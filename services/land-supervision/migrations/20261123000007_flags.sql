-- Flags other bureaus keep on enterprises: every raising and clearing, in order, never changed.
CREATE TABLE enterprise_flag_events (
    enterprise_id TEXT   NOT NULL,
    flag          TEXT   NOT NULL,
    seq           BIGINT NOT NULL,
    region_code   TEXT   NOT NULL,
    raised        BIGINT NOT NULL,
    on_date       TEXT   NOT NULL,
    document      TEXT   NOT NULL,
    bureau        TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    note          TEXT   NOT NULL DEFAULT '',
    recorded_at   TEXT   NOT NULL,
    PRIMARY KEY (enterprise_id, flag, seq)
);

-- The latest change of each flag of each enterprise.
CREATE TABLE enterprise_flags (
    enterprise_id TEXT   NOT NULL,
    flag          TEXT   NOT NULL,
    region_code   TEXT   NOT NULL,
    raised        BIGINT NOT NULL,
    on_date       TEXT   NOT NULL,
    document      TEXT   NOT NULL,
    bureau        TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    note          TEXT   NOT NULL DEFAULT '',
    recorded_at   TEXT   NOT NULL,
    PRIMARY KEY (enterprise_id, flag)
);
CREATE INDEX enterprise_flags_region ON enterprise_flags (region_code, enterprise_id, flag);
