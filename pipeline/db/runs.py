"""The record of every run and of each source's part in it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from pipeline.db.loader import LoadCounts, SourceKey
from pipeline.db.sqlfiles import query
from pipeline.urls import scrub

if TYPE_CHECKING:
    from pipeline.transport import CallStats


@dataclass(slots=True)
class SourceResult:
    """What one source did in one run."""

    key: SourceKey
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = "running"
    windows_planned: int = 0
    windows_done: int = 0
    counts: LoadCounts = field(default_factory=LoadCounts)
    requests: int = 0
    retries: int = 0
    hedges: int = 0
    """Requests sent again because the first was late (counted in `requests` too)."""
    pace: float | None = None
    """The pace at the end, requests per second (None: not adaptive)."""
    lowest_pace: float | None = None
    notes: list[str] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None

    def take_stats(self, stats: CallStats) -> None:
        """Copy what the source's transport counted."""
        self.requests, self.retries, self.hedges = stats.requests, stats.retries, stats.hedges
        self.pace, self.lowest_pace = stats.pace, stats.lowest_pace

    def as_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.key.vendor,
            "account": self.key.account,
            "api": self.key.api,
            "outcome": self.outcome,
            "windows_planned": self.windows_planned,
            "windows_done": self.windows_done,
            "tasks_seen": self.counts.seen,
            "tasks_inserted": self.counts.inserted,
            "tasks_changed": self.counts.changed,
            "tasks_rejected": self.counts.rejected,
            "tasks_deleted": self.counts.deleted,
            "requests": self.requests,
            "retries": self.retries,
            "hedges": self.hedges,
            "pace": self.pace,
            "lowest_pace": self.lowest_pace,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "notes": self.notes,
        }


async def start_run(
    conn: asyncpg.Connection, run_id: UUID, command: str, arguments: dict[str, Any], at: datetime
) -> None:
    await conn.execute(
        query("start_run"), run_id, command, json.dumps(arguments, sort_keys=True), at
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
