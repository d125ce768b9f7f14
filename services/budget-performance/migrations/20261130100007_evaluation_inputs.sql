-- What a self-evaluation was scored from (its indicators' targets and actuals), for the 自评表.
ALTER TABLE budget_evaluations ADD COLUMN input TEXT NOT NULL DEFAULT '';
