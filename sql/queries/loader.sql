-- name: create_stage_tasks
-- A per-connection staging table for one window's reads that change stored tasks, for the
-- merge: a read (the columns of deferred_reads) in read order (`ord`); `outside` marks reads
-- whose start lies outside the window's scope. Emptied at every commit.
CREATE TEMP TABLE IF NOT EXISTS stage_tasks (
    ord             bigint      NOT NULL,
    LIKE deferred_reads,
    outside         boolean     NOT NULL
) ON COMMIT DELETE ROWS;

-- name: stored_hashes_between
-- The stored state of a window's scope, as two arrays in one row: each task id and its content
-- hash, NULL where the row must be rewritten whatever is read (marked deleted, or last seen
-- before $4). $1 vendor, $2 account, $3 api; the scope: start times from $5 to $6.
-- The source is compared in a form no index serves: read by the start-time index, the scan
-- touches the scope's tasks; a planner without statistics (a large load runs before autovacuum
-- has counted its rows) would otherwise walk the source's every task through the primary key.
SELECT array_agg(task_id) AS task_ids,
       array_agg(CASE WHEN vendor_deleted_at IS NULL AND last_seen_at >= $4
                      THEN content_hash END) AS hashes
FROM tasks
WHERE start_time >= $5 AND start_time < $6
  AND (vendor, account, api) IS NOT DISTINCT FROM ($1::text, $2::text, $3::text);

-- name: stored_hashes_all
-- As stored_hashes_between, for a window that lists the whole source.
SELECT array_agg(task_id) AS task_ids,
       array_agg(CASE WHEN vendor_deleted_at IS NULL AND last_seen_at >= $4
                      THEN content_hash END) AS hashes
FROM tasks
WHERE vendor = $1 AND account = $2 AND api = $3;

-- name: compare_stage_batch
-- Names the reads of a batch that change something: the task is not stored, its content
-- hash differs, it is marked deleted, or its last_seen_at is older than $6.
-- Returns each such read's position in the batch (from 1).
-- $1 vendor, $2 account, $3 api, $4 task ids, $5 content hashes (in the order of $4).
-- One primary-key lookup per id, whatever the statistics say: the LIMIT keeps the planner
-- from turning the lateral lookup into a join that reads the source's every row (a large
-- load runs before autovacuum has counted its rows).
SELECT r.n
FROM unnest($4::text[], $5::bigint[]) WITH ORDINALITY AS r(task_id, content_hash, n)
LEFT JOIN LATERAL (
    SELECT task_id, content_hash, last_seen_at, vendor_deleted_at
    FROM tasks
    WHERE vendor = $1 AND account = $2 AND api = $3 AND task_id = r.task_id
    LIMIT 1
) AS t ON true
WHERE t.task_id IS NULL
   OR t.content_hash IS DISTINCT FROM r.content_hash
   OR t.vendor_deleted_at IS NOT NULL
   OR t.last_seen_at < $6;

-- name: insert_stage_absent
-- Inserts the staged reads outside the scope whose tasks are not stored; waits for a
-- transaction storing one of them to end. Run before merge_stage_tasks, whose snapshot (taken
-- when it starts) then holds every stored task it compares with.
-- $1 vendor, $2 account, $3 api.
INSERT INTO tasks (
    vendor, account, api, task_id, kind, domain, app, stream, room_id, status,
    vendor_status, start_time, end_time, raw, first_seen_at, last_seen_at, content_hash
)
SELECT DISTINCT ON (task_id)
       $1, $2, $3, task_id, kind, domain, app, stream, room_id, status,
       vendor_status, start_time, end_time, raw, seen_at, seen_at, content_hash
FROM stage_tasks
WHERE outside
ORDER BY task_id, ord DESC
ON CONFLICT (vendor, account, api, task_id) DO NOTHING;

-- name: merge_stage_tasks
-- Upserts the staged window into tasks in one statement. A row is rewritten only when its
-- content changed (or its last_seen_at is older than $1), and each real change gets one
-- task_history row. Rows are written in key order so concurrent windows cannot deadlock.
-- $1 interval: last_seen_at resolution; $2 uuid: run id; $3 vendor, $4 account, $5 api;
-- $6: merge the reads outside the window's scope (true) or inside it (false).
WITH incoming AS (
    SELECT DISTINCT ON (task_id) $3::text AS vendor, $4::text AS account, $5::text AS api,
           task_id, kind, domain, app, stream, room_id, status, vendor_status, start_time,
           end_time, raw, seen_at, content_hash
    FROM stage_tasks
    WHERE outside = $6
    ORDER BY task_id, ord DESC
),
previous AS (
    SELECT t.*
    FROM tasks AS t
    JOIN incoming AS i USING (vendor, account, api, task_id)
),
upserted AS (
    INSERT INTO tasks AS t (
        vendor, account, api, task_id, kind, domain, app, stream, room_id, status,
        vendor_status, start_time, end_time, raw, first_seen_at, last_seen_at, content_hash
    )
    SELECT vendor, account, api, task_id, kind, domain, app, stream, room_id, status,
           vendor_status, start_time, end_time, raw, seen_at, seen_at, content_hash
    FROM incoming
    ORDER BY task_id
    ON CONFLICT (vendor, account, api, task_id) DO UPDATE SET
        kind = excluded.kind, domain = excluded.domain, app = excluded.app,
        stream = excluded.stream, room_id = excluded.room_id, status = excluded.status,
        vendor_status = excluded.vendor_status, start_time = excluded.start_time,
        end_time = excluded.end_time, raw = excluded.raw, last_seen_at = excluded.last_seen_at,
        vendor_deleted_at = NULL, content_hash = excluded.content_hash
    WHERE ((t.kind, t.domain, t.app, t.stream, t.room_id, t.status, t.vendor_status,
            t.start_time, t.end_time, t.raw)
           IS DISTINCT FROM
           (excluded.kind, excluded.domain, excluded.app, excluded.stream, excluded.room_id,
            excluded.status, excluded.vendor_status, excluded.start_time, excluded.end_time,
            excluded.raw)
        OR t.vendor_deleted_at IS NOT NULL
        OR t.content_hash IS DISTINCT FROM excluded.content_hash
        OR t.last_seen_at < excluded.last_seen_at - $1::interval)
      -- A read parked by another window and merged late never undoes a later one.
      AND t.last_seen_at <= excluded.last_seen_at
    RETURNING t.*, (t.xmax = 0) AS inserted
),
-- Materialized so task_changes runs once per row; new rows have no previous state to compare.
changed AS MATERIALIZED (
    SELECT u.vendor, u.account, u.api, u.task_id, u.last_seen_at, p.status AS old_status,
           u.status AS new_status,
           task_changes(to_jsonb(p), to_jsonb(u) - 'inserted') AS changes
    FROM upserted AS u
    JOIN previous AS p USING (vendor, account, api, task_id)
    WHERE NOT u.inserted
),
history AS (
    INSERT INTO task_history (
        vendor, account, api, task_id, observed_at, run_id, old_status, new_status, changes
    )
    SELECT vendor, account, api, task_id, last_seen_at, $2, old_status, new_status, changes
    FROM changed
    WHERE changes <> '{}'::jsonb
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted WHERE inserted) AS inserted,
       (SELECT count(*) FROM history) AS changed;

-- name: mark_unlisted
-- After a complete listing: the tasks it should have returned but did not ($8: the stored
-- tasks of the window's scope that no read named) are marked as deleted by the vendor, with
-- one history row each. $4/$5 bound the start times the listing covers (NULL and NULL: the
-- whole account). $1 vendor, $2 account, $3 api, $6 seen at, $7 run id.
-- The rows are found one primary-key lookup per id and updated by their row address: a
-- planner without statistics would otherwise walk the source's every task for the join.
WITH gone AS (
    UPDATE tasks AS t SET vendor_deleted_at = $6
    WHERE t.ctid = ANY (ARRAY(
        SELECT stored.ctid
        FROM unnest($8::text[]) AS unread(task_id)
        CROSS JOIN LATERAL (
            SELECT ctid FROM tasks
            WHERE vendor = $1 AND account = $2 AND api = $3 AND task_id = unread.task_id
            LIMIT 1
        ) AS stored
    ))
      AND t.vendor_deleted_at IS NULL
      AND ($4::timestamptz IS NULL OR t.start_time >= $4)
      AND ($5::timestamptz IS NULL OR t.start_time < $5)
    RETURNING t.vendor, t.account, t.api, t.task_id, t.status
)
INSERT INTO task_history (
    vendor, account, api, task_id, observed_at, run_id, old_status, new_status, changes
)
SELECT vendor, account, api, task_id, $6, $7, status, status,
       jsonb_build_object('vendor_deleted_at', jsonb_build_array(NULL, to_jsonb($6::timestamptz)))
FROM gone;

-- name: insert_coverage
-- $1 vendor, $2 account, $3 api, $4 covered from, $5 covered to (both NULL: the whole account),
-- $6 fetched at, $7 run id.
INSERT INTO coverage (vendor, account, api, period, fetched_at, run_id)
VALUES ($1, $2, $3, tstzrange($4, $5, '[)'), $6, $7);

-- name: swap_lock_timeout
-- Sets this transaction's lock_timeout to $1; returns the one it replaces.
SELECT current_setting('lock_timeout') AS previous, set_config('lock_timeout', $1, true);

-- name: defer_outside
-- Parks the latest staged read of each task outside the scope, for merge_deferred.
-- $1 vendor, $2 account, $3 api.
INSERT INTO deferred_reads (
    vendor, account, api, task_id, kind, domain, app, stream, room_id, status,
    vendor_status, start_time, end_time, raw, seen_at, content_hash
)
SELECT DISTINCT ON (task_id)
       $1, $2, $3, task_id, kind, domain, app, stream, room_id, status,
       vendor_status, start_time, end_time, raw, seen_at, content_hash
FROM stage_tasks
WHERE outside
ORDER BY task_id, ord DESC;

-- name: take_deferred
-- Moves the source's parked reads into stage_tasks as reads outside the scope, in the order
-- they were read. $1 vendor, $2 account, $3 api.
WITH taken AS (
    DELETE FROM deferred_reads
    WHERE vendor = $1 AND account = $2 AND api = $3
    RETURNING *
)
INSERT INTO stage_tasks
SELECT row_number() OVER (ORDER BY seen_at), taken.*, true
FROM taken;
