-- Settling by evidence: a stored task last seen unfinished keeps its start time in every plan,
-- so the planner reads those tasks each run (a partial index keeps that read small); a start
-- time that falls out of reach while a task there is unfinished is a gap of its own kind.
-- Who holds a source's advisory lock since when, so a hung holder is noticed, not skipped.

CREATE INDEX tasks_unfinished_idx ON tasks (vendor, account, api, start_time)
    WHERE status IN ('scheduled', 'running', 'stopped') AND vendor_deleted_at IS NULL;

ALTER TABLE coverage_gaps
    ADD COLUMN kind text NOT NULL DEFAULT 'unfetched'
        CHECK (kind IN ('unfetched', 'unfinished')),
    ADD COLUMN task_id text;
COMMENT ON COLUMN coverage_gaps.kind IS
    'unfetched: start times no complete fetch covered; unfinished: a task last seen unfinished '
    'when its start time fell out of reach (its end was never seen).';

CREATE TABLE source_holders (
    vendor          text        NOT NULL,
    account         text        NOT NULL,
    api             text        NOT NULL,
    run_id          uuid,
    pid             integer     NOT NULL,
    acquired_at     timestamptz NOT NULL,
    PRIMARY KEY (vendor, account, api)
);
COMMENT ON TABLE source_holders IS
    'The last process to take each source''s advisory lock, and when (read when the lock is busy).';
