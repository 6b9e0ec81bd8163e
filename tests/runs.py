"""Runs the pipeline in-process against the sandbox, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from pipeline.commands import FAR_FUTURE
from pipeline.config import Settings
from pipeline.periods import Period
from pipeline.planning.sources import BackfillRequest, Request, SyncRequest
from pipeline.progress import SilentProgress
from pipeline.runner import RunReport, Selection, execute
from pipeline.vendors.tencent.record_tasks import RULES
from pipeline.vendors.tencent.sandbox import TencentSandbox


async def run(pool: asyncpg.Pool, settings: Settings, request: Request, now: float) -> RunReport:
    """One run at the instant `now`.

    Tencent's statuses follow the clock, so tests that compare two runs give both the same
    instant: a task starting between them would be a real change, and an unwanted one.
    """
    command = "sync" if isinstance(request, SyncRequest) else "backfill"
    return await execute(
        settings=settings,
        pool=pool,
        command=command,
        arguments={"test": True},
        request=request,
        selection=Selection(),
        progress=SilentProgress(),
        clock=lambda: now,
    )


def backfill_all(now: float, days: int = 120) -> BackfillRequest:
    """A backfill from `days` ago to as far ahead as the vendor lets tasks be scheduled."""
    since = datetime.fromtimestamp(now - days * 86_400, UTC)
    return BackfillRequest(Period(since, FAR_FUTURE), refetch=True)


async def stored_ids(pool: asyncpg.Pool) -> list[str]:
    return [r["task_id"] for r in await pool.fetch("SELECT task_id FROM tasks ORDER BY task_id")]


def reachable(sandbox: TencentSandbox, now: float) -> list[str]:
    """Record tasks the vendor can still serve: starting no earlier than the planner's reach."""
    oldest = now - RULES.reach_back.total_seconds()
    return sorted(t["TaskId"] for t in sandbox.record_tasks.values() if t["StartTime"] >= oldest)
