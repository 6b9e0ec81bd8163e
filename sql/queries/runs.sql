-- name: start_run
-- $1 run id, $2 command, $3 arguments (json), $4 started at, $5 $6 shard index and count (null:
-- the run served every source).
INSERT INTO sync_runs (run_id, command, arguments, started_at, shard_index, shard_count)
VALUES ($1, $2, $3::jsonb, $4, $5, $6);

-- name: finish_run
-- $1 run id, $2 outcome, $3 counts (json), $4 error, $5 ended at.
UPDATE sync_runs SET outcome = $2, counts = $3::jsonb, error = $4, ended_at = $5
WHERE run_id = $1;

-- name: save_run_source
-- Inserts or updates one source's result within a run.
INSERT INTO sync_run_sources (
    run_id, vendor, account, api, started_at, ended_at, outcome, windows_planned, windows_done,
    tasks_seen, tasks_inserted, tasks_changed, tasks_rejected, tasks_deleted, requests, retries,
    notes, error_code, error_message
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (run_id, vendor, account, api) DO UPDATE SET
    ended_at = excluded.ended_at, outcome = excluded.outcome,
    windows_planned = excluded.windows_planned, windows_done = excluded.windows_done,
    tasks_seen = excluded.tasks_seen, tasks_inserted = excluded.tasks_inserted,
    tasks_changed = excluded.tasks_changed, tasks_rejected = excluded.tasks_rejected,
    tasks_deleted = excluded.tasks_deleted,
    requests = excluded.requests, retries = excluded.retries, notes = excluded.notes,
    error_code = excluded.error_code, error_message = excluded.error_message;

-- name: unfinished_backfill_start
-- When identical backfills were cut short since the last one that succeeded, when the first of
-- them started: a re-run skips every window they completed. $1 arguments (json).
SELECT min(started_at)
FROM sync_runs
WHERE command = 'backfill' AND arguments = $1::jsonb AND outcome <> 'succeeded'
  AND started_at > coalesce(
      (SELECT max(started_at) FROM sync_runs
       WHERE command = 'backfill' AND arguments = $1::jsonb AND outcome = 'succeeded'),
      '-infinity'
  );

-- name: try_source_lock
-- One process at a time per account and API; held for the source's whole run. $1 source key.
SELECT pg_try_advisory_lock(hashtextextended('pipeline:' || $1, 0));

-- name: release_source_lock
SELECT pg_advisory_unlock(hashtextextended('pipeline:' || $1, 0));

-- name: record_source_holder
-- Who took the source's lock, and when (the database's clock): read by a process that finds it
-- taken, to tell a hung holder from a busy one. $1 vendor, $2 account, $3 api, $4 run id.
INSERT INTO source_holders (vendor, account, api, run_id, pid, acquired_at)
VALUES ($1, $2, $3, $4, pg_backend_pid(), now())
ON CONFLICT (vendor, account, api)
DO UPDATE SET run_id = EXCLUDED.run_id, pid = EXCLUDED.pid, acquired_at = EXCLUDED.acquired_at;

-- name: source_holder
-- The process that last took the source's lock, and for how long it has held it.
SELECT pid, run_id, acquired_at, extract(epoch FROM now() - acquired_at) AS held_seconds
FROM source_holders
WHERE vendor = $1 AND account = $2 AND api = $3;
