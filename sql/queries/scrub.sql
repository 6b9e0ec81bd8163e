-- The data step of migration 006 (pipeline/scrub.py): rows that may hold a vendor credential,
-- a batch at a time, keyset by primary key, each batch locked and rewritten in one transaction.
-- $3 (or $6) is a case-insensitive regex of what may mark a credential: a row that does not
-- match holds none and is never read.

-- name: scrub_search_path
-- For one batch's transaction: pg_catalog, then the schema the pipeline's tables are in.
SELECT pg_catalog.set_config(
    'search_path',
    CASE WHEN pg_catalog.to_regclass('pipeline.tasks') IS NULL
         THEN 'pg_catalog, public' ELSE 'pg_catalog, pipeline' END,
    true
);

-- name: scrub_tasks_batch
-- The next $5 candidate tasks after the key ($1, $2, $3, $4).
SELECT vendor, account, api, task_id, raw::text AS raw,
       domain, app, stream, room_id, vendor_status
FROM tasks
WHERE (vendor, account, api, task_id) > ($1, $2, $3, $4)
  AND (raw::text ~* $6
       OR concat_ws(' ', domain, app, stream, room_id, vendor_status) ~* $6)
ORDER BY vendor, account, api, task_id
LIMIT $5
FOR UPDATE;

-- name: scrub_tasks_update
-- content_hash is nulled: the next read of the task rewrites it, with no history row.
UPDATE tasks AS t
SET raw = u.raw::jsonb, domain = u.domain, app = u.app, stream = u.stream,
    room_id = u.room_id, vendor_status = u.vendor_status, content_hash = NULL
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[])
     AS u(vendor, account, api, task_id, raw, domain, app, stream, room_id, vendor_status)
WHERE (t.vendor, t.account, t.api, t.task_id) = (u.vendor, u.account, u.api, u.task_id);

-- name: scrub_history_batch
-- The next $2 candidate history rows after id $1.
SELECT id, vendor, api, changes::text AS changes
FROM task_history
WHERE id > $1 AND changes::text ~* $3
ORDER BY id
LIMIT $2
FOR UPDATE;

-- name: scrub_history_update
UPDATE task_history AS h
SET changes = u.changes::jsonb
FROM unnest($1::bigint[], $2::text[]) AS u(id, changes)
WHERE h.id = u.id;

-- name: scrub_rejected_batch
-- The next $2 candidate rejected records after id $1.
SELECT id, vendor, api, raw::text AS raw, reason
FROM rejected_records
WHERE id > $1 AND (raw::text ~* $3 OR reason ~* $3)
ORDER BY id
LIMIT $2
FOR UPDATE;

-- name: scrub_rejected_update
UPDATE rejected_records AS r
SET raw = u.raw::jsonb, reason = u.reason
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, raw, reason)
WHERE r.id = u.id;

-- name: scrub_deferred_batch
-- The next $2 candidate parked reads after row address $1 (the table has no key; it is empty
-- between runs). A row rewritten moves to a later address and is read again, unchanged.
SELECT ctid, vendor, api, raw::text AS raw, domain, app, stream, room_id, vendor_status
FROM deferred_reads
WHERE ctid > $1 AND (raw::text ~* $3
                     OR concat_ws(' ', domain, app, stream, room_id, vendor_status) ~* $3)
ORDER BY ctid
LIMIT $2
FOR UPDATE;

-- name: scrub_deferred_update
-- content_hash 0 matches no read: the merge that takes the row rewrites the task, with the
-- history of its real changes only.
UPDATE deferred_reads AS d
SET raw = u.raw::jsonb, domain = u.domain, app = u.app, stream = u.stream,
    room_id = u.room_id, vendor_status = u.vendor_status, content_hash = 0
FROM unnest($1::tid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS u(address, raw, domain, app, stream, room_id, vendor_status)
WHERE d.ctid = u.address;
