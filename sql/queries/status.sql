-- name: status_sources
-- Every source the database knows of: last success, last sync (whichever worker ran it, and its
-- shard), last failure and rejected records. The sources are listed by skipping from one
-- to the next through the indexes that lead with them, never by reading the whole history.
WITH RECURSIVE run_sources AS (
    (SELECT vendor, account, api FROM sync_run_sources ORDER BY vendor, account, api LIMIT 1)
    UNION ALL
    SELECT later.* FROM run_sources AS s, LATERAL (
        SELECT r.vendor, r.account, r.api FROM sync_run_sources AS r
        WHERE (r.vendor, r.account, r.api) > (s.vendor, s.account, s.api)
        ORDER BY r.vendor, r.account, r.api LIMIT 1
    ) AS later
), covered_sources AS (
    (SELECT vendor, account, api FROM coverage ORDER BY vendor, account, api LIMIT 1)
    UNION ALL
    SELECT later.* FROM covered_sources AS s, LATERAL (
        SELECT c.vendor, c.account, c.api FROM coverage AS c
        WHERE (c.vendor, c.account, c.api) > (s.vendor, s.account, s.api)
        ORDER BY c.vendor, c.account, c.api LIMIT 1
    ) AS later
), sources AS (
    SELECT * FROM run_sources UNION SELECT * FROM covered_sources
)
SELECT s.vendor, s.account, s.api,
       ok.ended_at AS last_success,
       synced.ended_at AS last_sync, synced.shard_index, synced.shard_count,
       bad.ended_at AS last_failure, bad.error_code, bad.error_message,
       (SELECT count(*) FROM rejected_records x
         WHERE (x.vendor, x.account, x.api) = (s.vendor, s.account, s.api)) AS rejected
FROM sources AS s
LEFT JOIN LATERAL (
    SELECT ended_at FROM sync_run_sources r
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

-- name: status_complete
-- Per source, the union of its complete windows, in task start times (one unbounded range: a
-- complete listing of an API that has no time window), as analysts see it.
SELECT c.vendor, c.account, c.api, lower(r) AS start_at, upper(r) AS end_at
FROM source_coverage AS c, unnest(c.complete) AS r
ORDER BY c.vendor, c.account, c.api, lower(r);

-- name: status_gaps
-- Per source, the start times lost before any run fetched them ('unfetched') and why each task
-- last seen unfinished out of reach was lost ('unfinished'), oldest start first.
SELECT vendor, account, api, kind, lower(period) AS start_at, upper(period) AS end_at, reason
FROM coverage_gaps
ORDER BY vendor, account, api, lower(period);

-- name: recent_runs
SELECT run_id, command, started_at, ended_at, outcome, counts::text AS counts, error,
       shard_index, shard_count
FROM sync_runs
ORDER BY started_at DESC
LIMIT $1;
