-- name: create_stage_tasks
-- A per-connection staging table for one window's tasks; emptied at every commit.
CREATE TEMP TABLE IF NOT EXISTS stage_tasks (
    ord             bigint      NOT NULL,
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    task_id         text        NOT NULL,
    kind            text        NOT NULL,
    domain          text,
    app             text,
    stream          text,
    room_id         text,
    status          text        NOT NULL,
    vendor_status   text,
    start_time      timestamptz,
    end_time        timestamptz,
    raw             jsonb       NOT NULL,
    seen_at         timestamptz NOT NULL,
    content_hash    bigint      NOT NULL
) ON COMMIT DELETE ROWS;

-- name: create_stage_seen
-- Every task id the window read, staged or not: what a complete listing returned.
CREATE TEMP TABLE IF NOT EXISTS stage_seen (task_id text NOT NULL) ON COMMIT DELETE ROWS;

-- name: index_stage_seen
-- Without it, finding the tasks a listing missed rescans the seen ids for every task.
CREATE INDEX IF NOT EXISTS stage_seen_task_id_idx ON stage_seen (task_id);

-- name: stored_task_state
-- What staging compares a batch against. $1 vendor, $2 account, $3 api, $4 task ids.
-- One primary-key lookup per id, whatever the statistics say: the LIMIT keeps the planner
-- from turning the lateral lookup into a join that reads the source's every row (a large
-- load runs before autovacuum has counted its rows).
SELECT ids.task_id, t.content_hash, t.last_seen_at, t.vendor_deleted_at IS NOT NULL AS deleted
FROM unnest($4::text[]) AS ids(task_id)
CROSS JOIN LATERAL (
    SELECT content_hash, last_seen_at, vendor_deleted_at
    FROM tasks
    WHERE vendor = $1 AND account = $2 AND api = $3 AND task_id = ids.task_id
    LIMIT 1
) AS t;

-- name: merge_stage_tasks
-- Upserts the staged window into tasks in one statement. A row is rewritten only when its
-- content changed (or its last_seen_at is older than $1), and each real change gets one
-- task_history row. Rows are written in key order so concurrent windows cannot deadlock.
-- $1 interval: last_seen_at resolution; $2 uuid: run id.
WITH incoming AS (
    SELECT DISTINCT ON (vendor, account, api, task_id) *
    FROM stage_tasks
    ORDER BY vendor, account, api, task_id, ord DESC
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
    ORDER BY vendor, account, api, task_id
    ON CONFLICT (vendor, account, api, task_id) DO UPDATE SET
        kind = excluded.kind, domain = excluded.domain, app = excluded.app,
        stream = excluded.stream, room_id = excluded.room_id, status = excluded.status,
        vendor_status = excluded.vendor_status, start_time = excluded.start_time,
        end_time = excluded.end_time, raw = excluded.raw, last_seen_at = excluded.last_seen_at,
        vendor_deleted_at = NULL, content_hash = excluded.content_hash
    WHERE (t.kind, t.domain, t.app, t.stream, t.room_id, t.status, t.vendor_status,
           t.start_time, t.end_time, t.raw)
          IS DISTINCT FROM
          (excluded.kind, excluded.domain, excluded.app, excluded.stream, excluded.room_id,
           excluded.status, excluded.vendor_status, excluded.start_time, excluded.end_time,
           excluded.raw)
       OR t.vendor_deleted_at IS NOT NULL
       OR t.content_hash IS DISTINCT FROM excluded.content_hash
       OR t.last_seen_at < excluded.last_seen_at - $1::interval
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
-- After a complete listing: the source's tasks that it should have returned but did not are
-- marked as deleted by the vendor, with one history row each. $4/$5 bound the start times the
-- listing covers (NULL and NULL: the whole account); $8 lists ids seen but rejected.
-- $1 vendor, $2 account, $3 api, $6 seen at, $7 run id.
WITH gone AS (
    UPDATE tasks AS t SET vendor_deleted_at = $6
    WHERE t.vendor = $1 AND t.account = $2 AND t.api = $3 AND t.vendor_deleted_at IS NULL
      AND ($4::timestamptz IS NULL OR t.start_time >= $4)
      AND ($5::timestamptz IS NULL OR t.start_time < $5)
      AND NOT EXISTS (SELECT 1 FROM stage_seen AS s WHERE s.task_id = t.task_id)
      AND t.task_id <> ALL($8::text[])
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
