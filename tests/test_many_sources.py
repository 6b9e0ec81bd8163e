"""A worker with many more sources than database connections: windows wait their turn for a
connection and the run ends, every source loaded (the locks of all sources share one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import asyncpg
import pytest
from pydantic import SecretStr

from pipeline.commands import pool_size
from pipeline.config import DatabaseSettings, RedactionSettings, Settings
from pipeline.db.connect import create_pool
from pipeline.db.sqlfiles import query
from pipeline.model import SourceKey
from pipeline.vendors import VENDORS
from tests.conftest import REDACTION_KEY
from tests.fleets import serve_accounts
from tests.runs import backfill_all, run

ACCOUNTS_PER_VENDOR = 4
SMALLEST_POOL = 3


@pytest.fixture
async def many_sources(frozen_now: int) -> AsyncIterator[Settings]:
    """Four accounts of every registered vendor on its twin: a dozen and more sources."""
    async with AsyncExitStack() as stack:
        accounts = await serve_accounts(stack, frozen_now, ACCOUNTS_PER_VENDOR, per_day=3)
        yield Settings(
            accounts=tuple(accounts), redaction=RedactionSettings(key=SecretStr(REDACTION_KEY))
        )


async def test_a_run_of_more_sources_than_connections_loads_every_source(
    many_sources: Settings, db_url: str, frozen_now: int
) -> None:
    pool = await create_pool(db_url, SMALLEST_POOL)
    try:
        async with asyncio.timeout(120):  # it used to wait forever: a hang fails here
            report = await run(pool, many_sources, backfill_all(frozen_now), frozen_now)
        held = await pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
    finally:
        await pool.close()
    sources = report.sources
    assert len(sources) > 4 * SMALLEST_POOL
    assert {r.outcome for r in sources} == {"succeeded"}
    assert all(r.counts.seen > 0 for r in sources)
    assert held == 0  # every lock given back


async def test_each_source_still_holds_its_lock_while_it_runs(
    many_sources: Settings, pool: asyncpg.Pool, frozen_now: int
) -> None:
    # Another process holds one source's lock: this run skips that source alone.
    first = many_sources.accounts[0]
    api = next(iter(VENDORS[first.vendor].sources))
    async with pool.acquire() as other:
        taken = await other.fetchval(
            query("try_source_lock"), str(SourceKey(first.vendor, first.name, api))
        )
        assert taken
        report = await run(pool, many_sources, backfill_all(frozen_now), frozen_now)
    outcomes = {(r.key.account, r.key.api): r.outcome for r in report.sources}
    assert outcomes.pop((first.name, api)) == "skipped"
    assert set(outcomes.values()) == {"succeeded"}


def test_the_pool_grows_with_the_sources_up_to_the_configured_size(
    many_sources: Settings,
) -> None:
    # Four windows at once per source, and one for its planning and saving; locks and a spare.
    assert pool_size(many_sources, 2) == 2 * (4 + 1) + 2
    capped = many_sources.model_copy(update={"database": DatabaseSettings(pool_size=12)})
    assert pool_size(capped, 2) == 12
    assert pool_size(capped, 500) == 12
