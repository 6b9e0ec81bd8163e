-- Runs record the shard their worker served (`--shard I/N`), so `pipeline status` can tell which
-- worker last synced a source. Null: the run served every selected source.
ALTER TABLE sync_runs
    ADD COLUMN shard_index integer,
    ADD COLUMN shard_count integer,
    ADD CONSTRAINT sync_runs_shard_check CHECK (
        (shard_index IS NULL AND shard_count IS NULL)
        OR (shard_count >= 1 AND shard_index >= 0 AND shard_index < shard_count)
    );
COMMENT ON COLUMN sync_runs.shard_index IS
    'The shard this run served, of shard_count (pipeline sync --shard I/N); null: every source.';
