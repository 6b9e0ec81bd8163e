-- A data step, not DDL: `pipeline migrate` replaces the vendor credentials that earlier releases
-- stored as served (Tencent relay tasks' PushArgs; users, passwords and credential parameters
-- of URLs) with keyed digests, in tasks (raw and the text columns taken from it), task_history,
-- rejected_records and deferred_reads, in batches, before recording this version. The work is
-- pipeline/scrub.py (the digests need the redaction key, PIPELINE_REDACTION_KEY; a database
-- holding nothing to replace needs none); its statements are sql/queries/scrub.sql.
SELECT 1;
