-- name: status_sources
-- Every source the database knows of: last success, last sync (whichever worker ran it, and its
-- shard), last failure, gaps and rejected records.
WITH sources AS (
    SELECT vendor, account, api FROM sync_run_sources
    UNION SELECT vendor, account, api FROM coverage
)
SELECT s.vendor, s.account, s.api,
       ok.ended_at AS last_success, ok.run_id AS last_success_run,
       synced.ended_at AS last_sync, synced.shard_index, synced.shard_count,
       bad.ended_at AS last_failure, bad.error_code, bad.error_message,
       (SELECT count(*) FROM coverage_gaps g
         WHERE (g.vendor, g.account, g.api) = (s.vendor, s.account, s.api)) AS gaps,
       (SELECT count(*) FROM rejected_records x
         WHERE (x.vendor, x.account, x.api) = (s.vendor, s.account, s.api)) AS rejected
FROM sources AS s
LEFT JOIN LATERAL (
    SELECT ended_at, run_id FROM sync_run_sources r
    WHERE (r.vendor, r.account, r.api) = (s.vendor, s.account, s.api) AND outcome = 'succeeded'
    ORDER BY ended_at DESC LIMIT 1
) AS ok ON true
LEFT JOIN LATERAL (
    SELECT r.ended_at, run.shard_index, run.shard_count
    FROM sync_run_sources r JOIN sync_runs run USING (run_id)
    WHERE (r.vendor, r.account, r.api) = (s.vendor, s.account, s.api)
      AND r.outcome = 'succeeded' AND run.command = 'sync'
    ORDER BY r.ended_at DESC LIMIT 1
) AS synced ON true
LEFT JOIN LATERAL (
    SELECT ended_at, error_code, error_message FROM sync_run_sources r
    WHERE (r.vendor, r.account, r.api) = (s.vendor, s.account, s.api) AND outcome = 'failed'
    ORDER BY ended_at DESC LIMIT 1
) AS bad ON true
ORDER BY s.vendor, s.account, s.api;

-- name: covered_periods
-- The union of every complete window of a source, in task start times.
SELECT lower(r) AS start_at, upper(r) AS end_at
FROM unnest((
    SELECT range_agg(period) FROM coverage WHERE vendor = $1 AND account = $2 AND api = $3
)) AS r
ORDER BY 1;

-- name: recent_runs
SELECT run_id, command, started_at, ended_at, outcome, counts::text AS counts, error,
       shard_index, shard_count
FROM sync_runs
ORDER BY started_at DESC
LIMIT $1;
