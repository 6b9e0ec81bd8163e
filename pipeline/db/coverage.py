"""Reads and writes what is known complete, and what was lost, per source."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from pipeline.db.loader import SourceKey
from pipeline.db.sqlfiles import query
from pipeline.periods import Period, subtract


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


async def recorded_gaps(conn: asyncpg.Connection, key: SourceKey) -> list[Period]:
    """Start times recorded as lost."""
    return _periods(await conn.fetch(query("recorded_gaps"), key.vendor, key.account, key.api))


async def complete_periods(conn: asyncpg.Connection, key: SourceKey) -> list[Period | None]:
    """The union of every complete window; None stands for a whole-account listing."""
    rows = await conn.fetch(query("covered_periods"), key.vendor, key.account, key.api)
    # An unbounded range is a complete listing of an API that has no time window.
    return [
        Period(r["start_at"], r["end_at"]) if r["start_at"] and r["end_at"] else None for r in rows
    ]


async def record_gaps(
    conn: asyncpg.Connection,
    key: SourceKey,
    lost: list[Period],
    run_id: UUID,
    reason: str,
    detected_at: datetime,
) -> list[Period]:
    """Record the parts of `lost` not recorded before; returns the new ones."""
    new = subtract(lost, await recorded_gaps(conn, key))
    for gap in new:
        await conn.execute(
            query("insert_gap"),
            key.vendor,
            key.account,
            key.api,
            gap.start,
            gap.end,
            detected_at,
            run_id,
            reason,
        )
    return new
