-- name: settled_periods
-- Start times whose tasks were fetched after they could last change: final in `tasks`.
-- $1 vendor, $2 account, $3 api, $4 interval after a task's start when it settles.
SELECT lower(r) AS start_at, upper(r) AS end_at
FROM unnest((
    SELECT range_agg(tstzrange(lower(period), least(upper(period), fetched_at - $4::interval)))
    FROM coverage
    WHERE vendor = $1 AND account = $2 AND api = $3
      AND lower(period) < fetched_at - $4::interval
)) AS r
ORDER BY 1;

-- name: covered_since
-- Start times covered by windows fetched at or after $4: what a resumed backfill skips.
SELECT lower(r) AS start_at, upper(r) AS end_at
FROM unnest((
    SELECT range_agg(period)
    FROM coverage
    WHERE vendor = $1 AND account = $2 AND api = $3 AND fetched_at >= $4
)) AS r
ORDER BY 1;

-- name: first_covered
-- The earliest start time ever covered for a source, or NULL before its first window.
SELECT min(lower(period)) FROM coverage WHERE vendor = $1 AND account = $2 AND api = $3;

-- name: recorded_gaps
-- Recorded gaps of a source of kind $4, or of both kinds when it is NULL (an `unfinished`
-- gap is one task's start time).
SELECT lower(period) AS start_at, upper(period) AS end_at
FROM coverage_gaps
WHERE vendor = $1 AND account = $2 AND api = $3 AND ($4::text IS NULL OR kind = $4)
ORDER BY 1;

-- name: unfinished_gap_tasks
SELECT task_id FROM coverage_gaps
WHERE vendor = $1 AND account = $2 AND api = $3 AND kind = 'unfinished';

-- name: insert_gap
-- $1 vendor, $2 account, $3 api, $4 from, $5 to, $6 detected at, $7 run id, $8 reason,
-- $9 kind, $10 task id (for an unfinished task's gap).
INSERT INTO coverage_gaps (vendor, account, api, period, detected_at, run_id, reason, kind, task_id)
VALUES ($1, $2, $3, tstzrange($4, $5, '[)'), $6, $7, $8, $9, $10);

-- name: unfinished_tasks
-- Stored tasks of a source last seen in one of the statuses $4, not deleted by the vendor.
-- The constant list matches tasks_unfinished_idx, so the read stays on that small index.
SELECT task_id, start_time, end_time, status
FROM tasks
WHERE vendor = $1 AND account = $2 AND api = $3
  AND status IN ('scheduled', 'running', 'stopped') AND vendor_deleted_at IS NULL
  AND status = ANY($4::text[]) AND start_time IS NOT NULL
ORDER BY start_time;
