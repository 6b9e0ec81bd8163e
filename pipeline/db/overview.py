"""What the database recorded of every source, read for `pipeline status` in a few queries.

A platform runs thousands of sources, each with a year of hourly runs: status reads them all at
once (one consistent snapshot, three queries) rather than a few queries per source.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import asyncpg

from pipeline.db.sqlfiles import query
from pipeline.model import SourceKey
from pipeline.periods import Period


@dataclass(slots=True)
class Overview:
    """Per source: its latest runs, complete periods, lost start times and lost task ends."""

    runs: dict[SourceKey, asyncpg.Record] = field(default_factory=dict)
    """Latest success, sync (and its shard) and failure, rejected records; by vendor, account
    and API."""
    complete: dict[SourceKey, list[Period | None]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """The union of its complete windows; None stands for a whole-account listing."""
    gaps: dict[SourceKey, list[Period]] = field(default_factory=lambda: defaultdict(list))
    """Start times the vendor forgot before any run fetched them."""
    unfinished: dict[SourceKey, list[str]] = field(default_factory=lambda: defaultdict(list))
    """Why each task last seen unfinished out of reach was lost, oldest first."""


async def read_overview(conn: asyncpg.Connection) -> Overview:
    """Every source the database knows of, as of one snapshot."""
    overview = Overview()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for row in await conn.fetch(query("status_sources")):
            overview.runs[_key(row)] = row
        for row in await conn.fetch(query("status_complete")):
            overview.complete[_key(row)].append(_complete(row))
        for row in await conn.fetch(query("status_gaps")):
            if row["kind"] == "unfinished":
                overview.unfinished[_key(row)].append(row["reason"])
            elif row["kind"] == "unfetched":
                overview.gaps[_key(row)].append(Period(row["start_at"], row["end_at"]))
    return overview


def _key(row: asyncpg.Record) -> SourceKey:
    return SourceKey(row["vendor"], row["account"], row["api"])


def _complete(row: asyncpg.Record) -> Period | None:
    # An unbounded range is a complete listing of an API that has no time window.
    start, end = row["start_at"], row["end_at"]
    return Period(start, end) if start and end else None
