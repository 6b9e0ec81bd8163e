-- The pipeline's objects live in their own schema, `pipeline`, in which only the owner creates
-- anything. Every connection of the pipeline searches pg_catalog and then `pipeline`, nothing
-- else, so no object another role may create (in `public`, say) can stand in for one of
-- PostgreSQL's or ours: an exact-signature overload such as jsonb_build_array(jsonb, jsonb)
-- beats pg_catalog's variadic one whatever the order of the path, so only leaving such schemas
-- out of the path keeps it out.
--
-- A database migrated by an earlier release has its objects in `public` (001-004 ran there):
-- they move here, data, indexes, constraints and identity sequences with them. On a new
-- database 001-004 created them here already. The ledger (schema_migrations) was moved before
-- this ran. Analysts now write `pipeline.tasks`, or set `search_path = pipeline` (README).
-- Names are qualified: on an old database this runs with `public` as its path.

DO $$
BEGIN
    IF pg_catalog.to_regclass('pipeline.tasks') IS NULL THEN
        ALTER TABLE public.tasks SET SCHEMA pipeline;
        ALTER TABLE public.task_history SET SCHEMA pipeline;
        ALTER TABLE public.sync_runs SET SCHEMA pipeline;
        ALTER TABLE public.sync_run_sources SET SCHEMA pipeline;
        ALTER TABLE public.coverage SET SCHEMA pipeline;
        ALTER TABLE public.coverage_gaps SET SCHEMA pipeline;
        ALTER TABLE public.rejected_records SET SCHEMA pipeline;
        ALTER TABLE public.deferred_reads SET SCHEMA pipeline;
        ALTER TABLE public.source_holders SET SCHEMA pipeline;
        ALTER VIEW public.tasks_per_day SET SCHEMA pipeline;
        ALTER VIEW public.recording_hours_per_stream_day SET SCHEMA pipeline;
        ALTER VIEW public.tasks_running_now SET SCHEMA pipeline;
        ALTER VIEW public.tasks_deleted_by_vendor SET SCHEMA pipeline;
        ALTER VIEW public.source_coverage SET SCHEMA pipeline;
        ALTER FUNCTION public.task_changes(jsonb, jsonb) SET SCHEMA pipeline;
    END IF;
END
$$;

-- A function resolves the names in its body with its caller's path unless it pins its own.
ALTER FUNCTION pipeline.task_changes(jsonb, jsonb) SET search_path = pg_catalog, pipeline;
