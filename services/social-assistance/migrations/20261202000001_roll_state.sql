-- How often the roll has changed, for the replicas that keep a region's roll in memory for
-- what-if runs: every import and every household write adds one to a slot in the same
-- transaction, and a replica compares the slots' sum with the sum it loaded at, so a change
-- made through another replica is seen at the next call (not after a time-out). Sixteen slots,
-- each writer picking one, so that concurrent writers do not queue behind one row's lock.
CREATE TABLE roll_state (
    slot    INTEGER PRIMARY KEY,
    changes BIGINT  NOT NULL
);
INSERT INTO roll_state (slot, changes) VALUES
    (0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0),
    (8, 0), (9, 0), (10, 0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0);
