-- Industrial clusters and the parcels in them, with each parcel's status history.
CREATE TABLE clusters (
    id                TEXT PRIMARY KEY,
    region_code       TEXT   NOT NULL,
    name              TEXT   NOT NULL,
    industry_led      BIGINT NOT NULL,
    planned_area_mu   TEXT   NOT NULL,
    used_area_mu      TEXT   NOT NULL,
    version           BIGINT NOT NULL,
    updated_at        TEXT   NOT NULL
);

CREATE TABLE parcels (
    id                TEXT PRIMARY KEY,
    cluster_id        TEXT   NOT NULL,
    region_code       TEXT   NOT NULL,
    area_mu           TEXT   NOT NULL,
    land_use          TEXT   NOT NULL,
    supply_mode       TEXT   NOT NULL,
    contract_no       TEXT   NOT NULL DEFAULT '',
    agreement_no      TEXT   NOT NULL DEFAULT '',
    contracted_json   TEXT   NOT NULL DEFAULT '{}',
    milestones_json   TEXT   NOT NULL DEFAULT '{}',
    status            TEXT   NOT NULL,
    version           BIGINT NOT NULL,
    updated_at        TEXT   NOT NULL
);
CREATE INDEX parcels_cluster ON parcels (cluster_id, id);
CREATE INDEX parcels_region ON parcels (region_code, id);

CREATE TABLE parcel_status_history (
    parcel_id TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    status    TEXT   NOT NULL,
    on_date   TEXT   NOT NULL,
    actor     TEXT   NOT NULL,
    note      TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (parcel_id, seq)
);
