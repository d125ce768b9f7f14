-- One database per service: each owns its schema and migrations.
CREATE DATABASE budget_performance;
CREATE DATABASE land_supervision;
CREATE DATABASE social_assistance;
