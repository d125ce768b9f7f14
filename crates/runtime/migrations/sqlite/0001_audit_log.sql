-- The append-only audit log every service keeps in its own store.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    actor_role    TEXT    NOT NULL,
    actor_region  TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    entity        TEXT    NOT NULL,
    entity_id     TEXT    NOT NULL,
    region_code   TEXT    NOT NULL,
    before_json   TEXT    NOT NULL DEFAULT '',
    after_json    TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    request_id    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_region ON audit_log (region_code, id);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);

-- Append-only: rows can be added, never changed or removed.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
