-- The ledger of applied migrations and its bootstrap. Every name is qualified: these run on
-- connections whatever their search_path, before the pipeline's schema may exist.

-- name: ledger_state
-- Whether the pipeline's schema and its ledger exist, and whether a release before 005 kept
-- its ledger in `public`.
SELECT pg_catalog.to_regnamespace('pipeline') IS NOT NULL AS has_schema,
       pg_catalog.to_regclass('pipeline.schema_migrations') IS NOT NULL AS has_ledger,
       pg_catalog.to_regclass('public.schema_migrations') IS NOT NULL AS has_public_ledger;

-- name: create_schema
-- Needs CREATE on the database (or create it beforehand: README, Database roles).
CREATE SCHEMA pipeline;

-- name: adopt_public_ledger
-- The ledger of a release before 005 moves ahead of the objects it lists (005 moves those).
ALTER TABLE public.schema_migrations SET SCHEMA pipeline;

-- name: create_migrations_table
-- The ledger of applied migrations; created before anything else.
CREATE TABLE pipeline.schema_migrations (
    version     text        PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: applied_migrations
SELECT version, checksum FROM pipeline.schema_migrations ORDER BY version;

-- name: record_migration
INSERT INTO pipeline.schema_migrations (version, checksum) VALUES ($1, $2);

-- name: set_migration_path
-- For the migration about to run, in its transaction: pg_catalog (searched first, implicitly),
-- then the schema it creates its unqualified names in. That is `pipeline`; only while a
-- database migrated by a release before 005 still has 001's tables in `public` (005 moves
-- them) do the migrations up to 005 run there, next to what they extend.
SELECT pg_catalog.set_config(
    'search_path',
    CASE WHEN pg_catalog.to_regclass('pipeline.tasks') IS NULL
              AND EXISTS (SELECT FROM pipeline.schema_migrations WHERE version = '001_core')
         THEN 'public' ELSE 'pipeline' END,
    true
);

-- name: lock_migrations
-- Serializes concurrent `pipeline migrate` runs (key: "pipeline" as an int).
SELECT pg_catalog.pg_advisory_lock(7142069);

-- name: unlock_migrations
SELECT pg_catalog.pg_advisory_unlock(7142069);
