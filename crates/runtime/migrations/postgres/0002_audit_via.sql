-- The civic service that made a call on the actor's behalf ('' for a direct call).
ALTER TABLE audit_log ADD COLUMN via TEXT NOT NULL DEFAULT '';
