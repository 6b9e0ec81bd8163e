-- Reads a window made of tasks outside its own start times while the window whose start times
-- they lie in was writing them: parked here in the reading window's transaction, and merged
-- into tasks (with their history) once every window of the source in the run has ended.
-- Pipeline bookkeeping; empty between runs.

CREATE TABLE deferred_reads (
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
);
CREATE INDEX deferred_reads_source_idx ON deferred_reads (vendor, account, api);
