-- What the loader and the analysts may do in the pipeline's database (README, Database roles).
-- Run it as the owner (the role that runs `pipeline migrate` and owns the database) after every
-- `pipeline migrate`; it is idempotent:
--
--   psql "$OWNER_DSN" -v loader=pipeline_loader -v analyst=pipeline_analyst -f sql/roles.sql
--
-- tests/test_roles.py applies this very file, so what the README promises is what is tested.

-- Only these roles (and the owner) connect; nobody else sees the pipeline's schema.
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
REVOKE ALL ON SCHEMA pipeline FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;  -- the default since PostgreSQL 15
-- Analysts type `tasks`, not `pipeline.tasks` (the pipeline's own connections set their path).
ALTER DATABASE :"DBNAME" SET search_path = pipeline;

-- The loader (`sync`, `backfill`): rows in, out and changed, and its TEMP staging table; no DDL,
-- and the ledger of migrations read only.
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO :"loader";
GRANT USAGE ON SCHEMA pipeline TO :"loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pipeline TO :"loader";
REVOKE INSERT, UPDATE, DELETE ON pipeline.schema_migrations FROM :"loader";
ALTER DEFAULT PRIVILEGES IN SCHEMA pipeline
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"loader";

-- Analysts: the tasks, their history and the views over them ...
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO :"analyst";
GRANT USAGE ON SCHEMA pipeline TO :"analyst";
GRANT SELECT ON pipeline.tasks, pipeline.task_history, pipeline.tasks_per_day,
    pipeline.recording_hours_per_stream_day, pipeline.tasks_running_now,
    pipeline.tasks_deleted_by_vendor, pipeline.source_coverage
    TO :"analyst";
-- ... and what `pipeline status` reads: runs, coverage, gaps, the schema's version, and which
-- records were rejected and why, but not their payloads. Nothing on deferred_reads (vendor
-- records in transit) or source_holders (the loader's process ids).
GRANT SELECT ON pipeline.sync_runs, pipeline.sync_run_sources, pipeline.coverage,
    pipeline.coverage_gaps, pipeline.schema_migrations
    TO :"analyst";
GRANT SELECT (id, run_id, vendor, account, api, task_id, reason, rejected_at)
    ON pipeline.rejected_records TO :"analyst";
