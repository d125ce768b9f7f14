-- Each finished chunk keeps its totals (written in the transaction that records its cases), so
-- a job's progress is a sum over its chunks rather than over its cases: the households examined,
-- the cases recorded (households with a benefit before or after), their difference and back pay.
ALTER TABLE recalc_chunks ADD COLUMN examined BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recalc_chunks ADD COLUMN cases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recalc_chunks ADD COLUMN diff_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recalc_chunks ADD COLUMN back_pay_fen BIGINT NOT NULL DEFAULT 0;

-- Every roll query selects a region by code prefix (region_code LIKE '2105%'), which this index
-- cannot serve in a database whose collation is not "C"; where it can, the planner prefers it to
-- the primary key for id ranges and reads the whole region for each chunk. It only slowed the
-- loading of the roll. Pages of a region walk the primary key in id order and filter.
DROP INDEX households_region;
