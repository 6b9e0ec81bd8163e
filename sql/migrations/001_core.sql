-- The tables analysts query (tasks, task_history) and the pipeline's own bookkeeping
-- (runs, coverage, gaps, rejected records). Released migrations are never edited.

CREATE TABLE tasks (
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    task_id         text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('record', 'pull_stream')),
    domain          text,
    app             text,
    stream          text,
    room_id         text,
    status          text        NOT NULL
        CHECK (status IN ('scheduled', 'running', 'stopped', 'finished', 'failed', 'unknown')),
    vendor_status   text,
    start_time      timestamptz,
    end_time        timestamptz,
    raw             jsonb       NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    vendor_deleted_at timestamptz,
    content_hash    bigint,
    PRIMARY KEY (vendor, account, api, task_id)
);
CREATE INDEX tasks_start_time_idx ON tasks (start_time);
COMMENT ON TABLE tasks IS 'One row per vendor task, kept after the vendor forgets it.';
COMMENT ON COLUMN tasks.last_seen_at IS
    'When the pipeline last saw the task; refreshed at most hourly while nothing else changes.';
COMMENT ON COLUMN tasks.content_hash IS
    'Digest of the compared content, so a re-read of unchanged tasks needs no staging.';
COMMENT ON COLUMN tasks.vendor_deleted_at IS
    'When a complete listing first missed the task (the vendor deleted or expired it); NULL while listed.';
CREATE INDEX tasks_vendor_deleted_idx ON tasks (vendor, account, api) WHERE vendor_deleted_at IS NOT NULL;

CREATE TABLE task_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    task_id         text        NOT NULL,
    observed_at     timestamptz NOT NULL,
    run_id          uuid,
    old_status      text,
    new_status      text,
    changes         jsonb       NOT NULL
);
CREATE INDEX task_history_task_idx ON task_history (vendor, account, api, task_id, observed_at);
COMMENT ON TABLE task_history IS 'One row per real change of a task; never for an unchanged re-read.';
COMMENT ON COLUMN task_history.changes IS
    'Changed fields as {"field": [old, new]}; fields of the raw record appear as "raw.Field".';

-- {"field": [old, new]} for every normalized column and every top-level raw field that differs.
CREATE FUNCTION task_changes(old_row jsonb, new_row jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(name, jsonb_build_array(old_value, new_value)), '{}'::jsonb)
    FROM (
        SELECT key AS name, old_row -> key AS old_value, new_row -> key AS new_value
        FROM jsonb_object_keys(new_row) AS key
        WHERE key NOT IN ('raw', 'first_seen_at', 'last_seen_at', 'content_hash')
        UNION ALL
        SELECT 'raw.' || key, old_row -> 'raw' -> key, new_row -> 'raw' -> key
        FROM (
            SELECT jsonb_object_keys(old_row -> 'raw')
            UNION
            SELECT jsonb_object_keys(new_row -> 'raw')
        ) AS raw_keys(key)
    ) AS fields
    WHERE old_value IS DISTINCT FROM new_value
$$;

CREATE TABLE sync_runs (
    run_id          uuid        PRIMARY KEY,
    command         text        NOT NULL,
    arguments       jsonb       NOT NULL DEFAULT '{}',
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    outcome         text        NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted')),
    counts          jsonb       NOT NULL DEFAULT '{}',
    error           text
);
CREATE INDEX sync_runs_started_idx ON sync_runs (started_at DESC);

CREATE TABLE sync_run_sources (
    run_id          uuid        NOT NULL REFERENCES sync_runs ON DELETE CASCADE,
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    outcome         text        NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'succeeded', 'failed', 'skipped', 'interrupted')),
    windows_planned integer     NOT NULL DEFAULT 0,
    windows_done    integer     NOT NULL DEFAULT 0,
    tasks_seen      bigint      NOT NULL DEFAULT 0,
    tasks_inserted  bigint      NOT NULL DEFAULT 0,
    tasks_changed   bigint      NOT NULL DEFAULT 0,
    tasks_rejected  bigint      NOT NULL DEFAULT 0,
    tasks_deleted   bigint      NOT NULL DEFAULT 0,
    requests        bigint      NOT NULL DEFAULT 0,
    retries         bigint      NOT NULL DEFAULT 0,
    notes           text[]      NOT NULL DEFAULT '{}',
    error_code      text,
    error_message   text,
    PRIMARY KEY (run_id, vendor, account, api)
);

-- A row per window fetched completely: every task whose start time lies in `period` was read
-- at `fetched_at` and is in `tasks`. Tasks that had ended by then can no longer change.
CREATE TABLE coverage (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    period          tstzrange   NOT NULL,
    fetched_at      timestamptz NOT NULL,
    run_id          uuid
);
CREATE INDEX coverage_source_idx ON coverage (vendor, account, api, fetched_at);

-- Start times whose tasks the vendor forgot before any run could fetch them: lost for good.
CREATE TABLE coverage_gaps (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    period          tstzrange   NOT NULL,
    detected_at     timestamptz NOT NULL,
    run_id          uuid,
    reason          text        NOT NULL
);
CREATE INDEX coverage_gaps_source_idx ON coverage_gaps (vendor, account, api);

CREATE TABLE rejected_records (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          uuid,
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    task_id         text,
    reason          text        NOT NULL,
    raw             jsonb       NOT NULL,
    rejected_at     timestamptz NOT NULL
);
CREATE INDEX rejected_records_source_idx ON rejected_records (vendor, account, api, rejected_at);
