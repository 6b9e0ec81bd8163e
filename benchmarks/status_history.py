"""Status at scale: how long `pipeline status` takes as sources and their history grow.

Each case is a scratch database seeded with the history hourly sharded syncs leave (a run per
shard per round, a row per source per round, two complete windows per source per round) and
timed through `status.collect`, the whole read status does. What a user should see: the time
grows with the sources, not with the length of their history.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from benchmarks.database import scratch_pool, sql
from pipeline.status import collect

REPEATS = 3


@dataclass(frozen=True, slots=True)
class StatusConfig:
    """The sources and the hourly rounds of history of each case (every pair is a case)."""

    sources: tuple[int, ...] = (100, 1_000)
    rounds: tuple[int, ...] = (10, 1_000)


@dataclass(frozen=True, slots=True)
class StatusCase:
    sources: int
    rounds: int
    history_rows: int
    """Rows of `sync_run_sources` and `coverage` together: what a per-source scan would read."""
    seconds: float
    """The median of REPEATS timed reads."""
    listed: int


async def seed(pool: asyncpg.Pool, sources: int, rounds: int, now: datetime) -> int:
    """The history of `rounds` hourly rounds for `sources` sources; the rows it wrote."""
    async with pool.acquire() as conn:
        await conn.execute(sql("seed_status_history"), sources, rounds, now)
        await conn.execute("ANALYZE")
        return await conn.fetchval(
            "SELECT (SELECT count(*) FROM sync_run_sources) + (SELECT count(*) FROM coverage)"
        )


async def time_case(url: str, template: str, sources: int, rounds: int) -> StatusCase:
    now = datetime.now(UTC)
    async with scratch_pool(url, template) as pool:
        rows = await seed(pool, sources, rounds, now)
        timings, listed = [], 0
        for _ in range(REPEATS):
            started = time.perf_counter()
            listed = len(await collect(pool, None, now))
            timings.append(time.perf_counter() - started)
    return StatusCase(sources, rounds, rows, statistics.median(timings), listed)


async def run_status(url: str, template: str, config: StatusConfig) -> dict[str, Any]:
    """Every case, smallest first; JSON-ready."""
    cases = [
        await time_case(url, template, sources, rounds)
        for sources in config.sources
        for rounds in config.rounds
    ]
    return {"config": asdict(config), "cases": [asdict(case) for case in cases]}
