"""`pipeline status` over many sources with a long history: every source once, its latest runs
right, found through the indexes rather than by reading the whole history (README, Status)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from benchmarks.database import sql
from pipeline.db.sqlfiles import query
from pipeline.model import SourceKey
from pipeline.status import collect

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
SOURCES, ROUNDS = 6, 200
SHARDS = 4


def failed(round_: int, source: int) -> bool:
    """Which rounds of a source the seed records as failed (benchmarks/queries.sql)."""
    return (round_ + source) % 97 == 0


def ended(round_: int) -> datetime:
    return NOW - (ROUNDS - round_) * timedelta(hours=1) + timedelta(minutes=4)


def key(source: int) -> SourceKey:
    api = "DescribeRecordTask" if source % 2 == 0 else "DescribeLivePullStreamTasks"
    return SourceKey("tencent", f"bench-{source // 2}", api)


@pytest.fixture
async def history(pool: asyncpg.Pool) -> asyncpg.Pool:
    """SOURCES sources, each synced hourly for ROUNDS rounds by one of SHARDS workers."""
    await pool.execute(sql("seed_status_history"), SOURCES, ROUNDS, NOW)
    await pool.execute("ANALYZE")
    return pool


async def test_every_source_of_a_long_history_is_listed_once_with_its_latest_runs(
    history: asyncpg.Pool,
) -> None:
    statuses = {SourceKey(s.vendor, s.account, s.api): s for s in await collect(history, None, NOW)}
    assert len(statuses) == SOURCES
    for source in range(SOURCES):
        status = statuses[key(source)]
        rounds = range(1, ROUNDS + 1)
        assert status.last_success == ended(max(i for i in rounds if not failed(i, source)))
        assert status.last_sync == status.last_success
        assert status.last_failure == ended(max(i for i in rounds if failed(i, source)))
        assert status.synced_by == f"shard {source // 2 % SHARDS}/{SHARDS}"
        assert status.last_error == "InternalError: the vendor failed"


async def test_status_reads_a_few_rows_per_source_whatever_the_length_of_its_history(
    history: asyncpg.Pool,
) -> None:
    async with history.acquire() as conn, conn.transaction():
        # Tables this small are cheaper to scan whole: forbid it, so only a missing index reads
        # the history (as every plan must at a year of hourly runs).
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + query("status_sources"))
    read = rows_read(json.loads(plan)[0]["Plan"], {"sync_run_sources", "coverage"})
    history_rows = SOURCES * ROUNDS * 3
    assert 0 < read <= SOURCES * 10 < history_rows / 10


def rows_read(node: dict[str, Any], tables: set[str]) -> float:
    """Rows the plan's scans of `tables` read, kept or filtered out, over all their loops."""
    own = 0.0
    if node.get("Relation Name") in tables:
        kept = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        own = kept * node["Actual Loops"]
    return own + sum(rows_read(child, tables) for child in node.get("Plans", []))
