-- Views for the questions analysts ask most. They read only the tables of 001.

-- Tasks per start day (UTC), vendor, account and normalized status.
CREATE VIEW tasks_per_day AS
SELECT (start_time AT TIME ZONE 'UTC')::date AS day, vendor, account, api, status,
       count(*) AS tasks
FROM tasks
WHERE start_time IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;

-- Recording hours per stream and UTC day, split at midnight and counted up to now. A task
-- stopped early counts until its stop time (Tencent's `Stopped`); tasks without an end are left
-- out (ZEGO lists only the recording start).
CREATE VIEW recording_hours_per_stream_day AS
WITH spans AS (
    SELECT vendor, account, domain, app, coalesce(stream, room_id) AS stream, start_time,
           least(
               CASE WHEN jsonb_typeof(raw -> 'Stopped') = 'number' AND (raw ->> 'Stopped')::bigint > 0
                    THEN to_timestamp((raw ->> 'Stopped')::bigint) ELSE end_time END,
               now()
           ) AS stop_time
    FROM tasks
    WHERE kind = 'record' AND start_time IS NOT NULL AND end_time IS NOT NULL
)
SELECT (day AT TIME ZONE 'UTC')::date AS day, vendor, account, domain, app, stream,
       round((sum(extract(epoch FROM least(stop_time, day + interval '1 day')
                                   - greatest(start_time, day))) / 3600)::numeric, 2) AS hours
FROM spans,
     generate_series(date_trunc('day', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                     stop_time, interval '1 day') AS day
WHERE stop_time > start_time AND stop_time > day
GROUP BY 1, 2, 3, 4, 5, 6;

-- Tasks whose time has come and not passed, and that nothing has stopped, as last observed.
CREATE VIEW tasks_running_now AS
SELECT vendor, account, api, task_id, kind, domain, app, stream, room_id, status,
       start_time, end_time, last_seen_at
FROM tasks
WHERE vendor_deleted_at IS NULL
  AND status IN ('running', 'scheduled')
  AND start_time <= now()
  AND (end_time IS NULL OR end_time > now());

-- Tasks a complete listing no longer returned: deleted (or expired) by the vendor, kept here.
CREATE VIEW tasks_deleted_by_vendor AS
SELECT vendor, account, api, task_id, kind, status, start_time, end_time, first_seen_at,
       last_seen_at, vendor_deleted_at
FROM tasks
WHERE vendor_deleted_at IS NOT NULL;

-- Per source: the start times known complete, when they were last fetched, and the gaps.
CREATE VIEW source_coverage AS
WITH covered AS (
    SELECT vendor, account, api, range_agg(period) AS complete, max(fetched_at) AS last_fetched_at
    FROM coverage
    GROUP BY vendor, account, api
),
lost AS (
    SELECT vendor, account, api, range_agg(period) AS gaps, count(*) AS gap_count
    FROM coverage_gaps
    GROUP BY vendor, account, api
)
SELECT vendor, account, api, c.complete, c.last_fetched_at,
       coalesce(l.gaps, '{}'::tstzmultirange) AS gaps, coalesce(l.gap_count, 0) AS gap_count
FROM covered AS c
FULL JOIN lost AS l USING (vendor, account, api);
