-- Back pay is paid once per household, month and standard change. Its payment kind now names
-- the change ('back_pay:<effective date>') instead of the job, so the payments' primary key
-- (household_id, month, kind) refuses a second back-pay row for the same change and month from
-- any other job, replica or retry. Rows written before this migration keep their job-named kind.
--
-- At most one recalculation runs per region and effective date.
CREATE UNIQUE INDEX recalc_jobs_one_running ON recalc_jobs (region_code, effective_from) WHERE state = 'running';
