-- name: tasks_per_day_and_status
-- Record tasks per start day (UTC) and normalized status, newest day first.
SELECT (start_time AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE status = 'scheduled') AS scheduled,
       count(*) FILTER (WHERE status = 'running') AS running,
       count(*) FILTER (WHERE status = 'stopped') AS stopped,
       count(*) FILTER (WHERE status = 'finished') AS finished,
       count(*) AS total
FROM tasks
WHERE account = $1 AND kind = 'record'
GROUP BY 1
ORDER BY 1 DESC
LIMIT $2;

-- name: tasks_by_source_and_status
SELECT vendor, api, status, count(*) AS tasks
FROM tasks
WHERE account LIKE 'demo-%'
GROUP BY vendor, api, status
ORDER BY vendor, api, tasks DESC;

-- name: latest_changes
-- The newest task_history rows with the names of the fields that changed.
SELECT vendor, task_id, old_status, new_status,
       ARRAY(SELECT jsonb_object_keys(changes) ORDER BY 1) AS fields
FROM task_history
ORDER BY id DESC
LIMIT $1;
