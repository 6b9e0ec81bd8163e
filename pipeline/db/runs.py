"""The record of every run and of each source's part in it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from pipeline.db.sqlfiles import query
from pipeline.model import SourceResult
from pipeline.shards import Shard
from pipeline.urls import scrub


async def start_run(
    conn: asyncpg.Connection,
    run_id: UUID,
    command: str,
    arguments: dict[str, Any],
    at: datetime,
    shard: Shard | None = None,
) -> None:
    """Record a run as started, with the shard its worker serves (None: every source)."""
    index, count = (shard.index, shard.count) if shard else (None, None)
    await conn.execute(
        query("start_run"), run_id, command, json.dumps(arguments, sort_keys=True), at, index, count
    )


async def finish_run(
    conn: asyncpg.Connection,
    run_id: UUID,
    outcome: str,
    counts: dict[str, Any],
    error: str | None,
    at: datetime,
) -> None:
    # Error text is scrubbed of URL queries and userinfo here, the last step before it is kept.
    error = scrub(error) if error else error
    await conn.execute(query("finish_run"), run_id, outcome, json.dumps(counts), error, at)


async def save_source(conn: asyncpg.Connection, run_id: UUID, r: SourceResult) -> None:
    k, c = r.key, r.counts
    await conn.execute(
        query("save_run_source"),
        run_id,
        k.vendor,
        k.account,
        k.api,
        r.started_at,
        r.ended_at,
        r.outcome,
        r.windows_planned,
        r.windows_done,
        c.seen,
        c.inserted,
        c.changed,
        c.rejected,
        c.deleted,
        r.requests,
        r.retries,
        r.notes,
        r.error_code,
        scrub(r.error_message) if r.error_message else r.error_message,
    )


async def unfinished_backfill_start(
    conn: asyncpg.Connection, arguments: dict[str, Any]
) -> datetime | None:
    """When the latest identical backfill started, if it did not finish: a re-run resumes it."""
    return await conn.fetchval(
        query("unfinished_backfill_start"), json.dumps(arguments, sort_keys=True)
    )
