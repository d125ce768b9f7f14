-- Warnings are listed by a region's code prefix (LIKE '4117%'), which neither backend can look
-- up in a (region_code, …) index under the database's collation; the index only slowed every
-- insert. A checkpoint's warnings are found through budget_warnings_by_checkpoint.
DROP INDEX budget_warnings_by_region;
