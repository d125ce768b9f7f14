-- A region's roll in the compact form what-if runs read (population snapshot), kept after a
-- replica has read a large roll, so that the first what-if after a start reads these few rows
-- instead of every household. A snapshot is read only while the roll's change count
-- (roll_state) is still the one it was read at, and only by the same layout and income kinds
-- (signature); the database keeps one per region prefix, in parts of a few MB. The parts are
-- stored uncompressed: they are read whole, and compressing them would cost more than it saves.
CREATE TABLE roll_snapshots (
    prefix    TEXT    NOT NULL,
    part      INTEGER NOT NULL,
    changes   BIGINT  NOT NULL,
    signature TEXT    NOT NULL,
    -- One snapshot's parts share it: parts of two snapshots are never read as one.
    taken     TEXT    NOT NULL,
    data      BYTEA   NOT NULL,
    PRIMARY KEY (prefix, part)
);
ALTER TABLE roll_snapshots ALTER COLUMN data SET STORAGE EXTERNAL;
