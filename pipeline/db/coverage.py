"""Reads and writes what is known complete, and what was lost, per source."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from pipeline.db.sqlfiles import query
from pipeline.model import SourceKey
from pipeline.periods import Period, subtract
from pipeline.planning.decisions import Unfinished


def _periods(rows: list[asyncpg.Record]) -> list[Period]:
    return [Period(r["start_at"], r["end_at"]) for r in rows]


async def settled_periods(
    conn: asyncpg.Connection, key: SourceKey, settle_after: timedelta
) -> list[Period]:
    """Start times whose tasks are final in the database."""
    rows = await conn.fetch(
        query("settled_periods"), key.vendor, key.account, key.api, settle_after
    )
    return _periods(rows)


async def covered_since(conn: asyncpg.Connection, key: SourceKey, since: datetime) -> list[Period]:
    """Start times covered by windows fetched at or after `since`."""
    rows = await conn.fetch(query("covered_since"), key.vendor, key.account, key.api, since)
    return _periods(rows)


async def first_covered(conn: asyncpg.Connection, key: SourceKey) -> datetime | None:
    """The earliest start time ever covered, or None before the first window."""
    return await conn.fetchval(query("first_covered"), key.vendor, key.account, key.api)


async def recorded_gaps(
    conn: asyncpg.Connection, key: SourceKey, kind: str | None = None
) -> list[Period]:
    """Start times recorded as lost (of one `kind` of gap, or of both)."""
    rows = await conn.fetch(query("recorded_gaps"), key.vendor, key.account, key.api, kind)
    return _periods(rows)


async def unfinished_tasks(
    conn: asyncpg.Connection, key: SourceKey, statuses: Iterable[str]
) -> list[Unfinished]:
    """Stored tasks last seen in one of `statuses` (and not deleted), oldest start first."""
    rows = await conn.fetch(
        query("unfinished_tasks"), key.vendor, key.account, key.api, sorted(statuses)
    )
    return [Unfinished(r["task_id"], r["start_time"], r["end_time"], r["status"]) for r in rows]


async def record_gaps(
    conn: asyncpg.Connection,
    key: SourceKey,
    lost: list[Period],
    run_id: UUID,
    reason: str,
    detected_at: datetime,
) -> list[Period]:
    """Record the parts of `lost` not recorded before; returns the new ones."""
    new = subtract(lost, await recorded_gaps(conn, key, kind="unfetched"))
    for gap in new:
        await _insert_gap(conn, key, gap, run_id, detected_at, reason, "unfetched", None)
    return new


async def record_stranded(
    conn: asyncpg.Connection,
    key: SourceKey,
    stranded: list[Unfinished],
    run_id: UUID,
    detected_at: datetime,
) -> list[Unfinished]:
    """Record a gap for each task last seen unfinished out of reach; returns the new ones."""
    if not stranded:
        return []
    rows = await conn.fetch(query("unfinished_gap_tasks"), key.vendor, key.account, key.api)
    recorded = {r["task_id"] for r in rows}
    new = [t for t in stranded if t.task_id not in recorded]
    for task in new:
        reason = f"task {task.task_id} was last seen {task.status} when it fell out of reach"
        gap = task.start_point
        await _insert_gap(conn, key, gap, run_id, detected_at, reason, "unfinished", task.task_id)
    return new


async def _insert_gap(
    conn: asyncpg.Connection,
    key: SourceKey,
    gap: Period,
    run_id: UUID,
    detected_at: datetime,
    reason: str,
    kind: str,
    task_id: str | None,
) -> None:
    await conn.execute(
        query("insert_gap"),
        key.vendor, key.account, key.api, gap.start, gap.end, detected_at, run_id, reason,
        kind, task_id,
    )  # fmt: skip
