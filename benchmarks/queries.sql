-- Statements the benchmarks run besides the pipeline's own (sql/queries/), such as the
-- baselines the Loader is measured against. Read by benchmarks.database.sql.

-- name: upsert_task
-- The plain row-at-a-time upsert (sent with executemany): every conflicting row is rewritten.
-- $1..$13 the task's columns, $14 raw (json text), $15 seen at.
INSERT INTO tasks AS t (
    vendor, account, api, task_id, kind, domain, app, stream, room_id, status,
    vendor_status, start_time, end_time, raw, first_seen_at, last_seen_at
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $15)
ON CONFLICT (vendor, account, api, task_id) DO UPDATE SET
    kind = excluded.kind, domain = excluded.domain, app = excluded.app,
    stream = excluded.stream, room_id = excluded.room_id, status = excluded.status,
    vendor_status = excluded.vendor_status, start_time = excluded.start_time,
    end_time = excluded.end_time, raw = excluded.raw, last_seen_at = excluded.last_seen_at;

-- name: create_copy_target
-- The ceiling: the columns of tasks with no key, index or constraint to maintain.
-- Qualified: the pipeline's search path puts pg_catalog first, so nothing is created unqualified.
CREATE TABLE pipeline.copy_target (LIKE pipeline.tasks INCLUDING DEFAULTS);

-- name: count_history
SELECT count(*) FROM task_history;


-- name: server_settings
-- The server's version and the settings that move load throughput most.
SELECT version(),
       current_setting('shared_buffers') AS shared_buffers,
       current_setting('work_mem') AS work_mem,
       current_setting('max_wal_size') AS max_wal_size,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('fsync') AS fsync,
       current_setting('max_connections') AS max_connections;

-- name: server_mark
-- The backend serving this connection, whether the server is on this machine, and its WAL
-- position.
SELECT pg_backend_pid() AS pid,
       coalesce(host(inet_server_addr()) IN ('127.0.0.1', '::1'), true) AS local,
       pg_current_wal_lsn()::text AS lsn;

-- name: wal_since
-- The backend serving this connection and the WAL bytes written since $1 (a pg_lsn as text).
SELECT pg_backend_pid() AS pid, pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn) AS wal_bytes;

-- name: scale_sources
-- Every source of the runs of one command ($1) in a scale round, with the shard its worker
-- served (null: the worker served every source).
SELECT r.shard_index, r.shard_count, s.vendor, s.account, s.api, s.outcome, s.tasks_seen,
       s.error_code, s.error_message
FROM pipeline.sync_run_sources s JOIN pipeline.sync_runs r USING (run_id)
WHERE r.command = $1
ORDER BY s.account, s.api;

-- name: scale_stored
-- The tasks stored per account and API.
SELECT account, api, count(*) AS tasks FROM pipeline.tasks GROUP BY account, api;

-- name: client_connections
-- Client connections now: to database $1, and to the whole server (this one included).
SELECT count(*) FILTER (WHERE datname = $1) AS database, count(*) AS server
FROM pg_stat_activity
WHERE backend_type = 'client backend';

-- name: seed_status_history
-- A history of $2 hourly rounds ending at $3 for $1 sources (half of them Tencent record tasks,
-- half relays; 4 shards), as `pipeline sync` leaves it: a run per shard per round, a row per
-- source per round (every 97th failed), two complete windows per source per round.
WITH rounds AS (
    SELECT i, $3::timestamptz - ($2 - i) * interval '1 hour' AS at
    FROM generate_series(1, $2::int) AS i
), runs AS (
    INSERT INTO sync_runs (run_id, command, started_at, ended_at, outcome, shard_index, shard_count)
    SELECT md5(i || '/' || shard)::uuid, 'sync', at, at + interval '5 minutes', 'succeeded', shard, 4
    FROM rounds, generate_series(0, 3) AS shard
    RETURNING run_id
), sources AS (
    SELECT s, 'bench-' || (s / 2) AS account,
           CASE WHEN s % 2 = 0 THEN 'DescribeRecordTask' ELSE 'DescribeLivePullStreamTasks' END
               AS api
    FROM generate_series(0, $1::int - 1) AS s
), ran AS (
    INSERT INTO sync_run_sources (run_id, vendor, account, api, started_at, ended_at, outcome,
                                  error_code, error_message)
    SELECT md5(i || '/' || (s / 2) % 4)::uuid, 'tencent', account, api, at,
           at + interval '4 minutes', CASE WHEN (i + s) % 97 = 0 THEN 'failed' ELSE 'succeeded' END,
           CASE WHEN (i + s) % 97 = 0 THEN 'InternalError' END,
           CASE WHEN (i + s) % 97 = 0 THEN 'the vendor failed' END
    FROM rounds, sources
    RETURNING 1
)
INSERT INTO coverage (vendor, account, api, period, fetched_at, run_id)
SELECT 'tencent', account, api,
       CASE WHEN api = 'DescribeRecordTask'
            THEN tstzrange(at - interval '1 day' + w * interval '6 days', at + w * interval '6 days')
            ELSE tstzrange(NULL, NULL) END,
       at, md5(i || '/' || (s / 2) % 4)::uuid
FROM rounds, sources, generate_series(0, 1) AS w
WHERE (i + s) % 97 <> 0;
