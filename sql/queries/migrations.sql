-- name: create_migrations_table
-- The ledger of applied migrations; created before anything else.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: applied_migrations
SELECT version, checksum FROM schema_migrations ORDER BY version;

-- name: record_migration
INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2);

-- name: lock_migrations
-- Serializes concurrent `pipeline migrate` runs (key: "pipeline" as an int).
SELECT pg_advisory_lock(7142069);

-- name: unlock_migrations
SELECT pg_advisory_unlock(7142069);
