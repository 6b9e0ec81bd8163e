"""A database connection killed mid-load leaves no half-written window."""

from __future__ import annotations

import asyncio

import asyncpg
from structlog.testing import capture_logs

from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import fast_settings, tencent_account
from tests.runs import backfill_all, reachable, run, stored_ids

# Window loads hold their transaction open between pages ("idle in transaction"); planning and
# run bookkeeping run in autocommit, so this kills window loads only.
KILL_OPEN_TRANSACTIONS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND state IN ('idle in transaction', 'active') AND query ILIKE '%stage%'
"""


async def terminate_loading_connections(db_url: str, killed: list[int]) -> None:
    """Kill the window loads open now, or the next ones to open (windows load quickly)."""
    conn = await asyncpg.connect(db_url)
    try:
        for _ in range(200):
            if count := await conn.fetchval(KILL_OPEN_TRANSACTIONS):
                killed.append(count)
                return
            await asyncio.sleep(0.01)
        killed.append(0)
    finally:
        await conn.close()


async def test_a_killed_connection_mid_window_is_retried_and_nothing_is_half_written(
    pool: asyncpg.Pool, db_url: str, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    killed: list[int] = []
    kills: list[asyncio.Task[None]] = []
    tencent.on_request(
        "DescribeRecordTask",
        5,
        lambda _: kills.append(
            asyncio.ensure_future(terminate_loading_connections(db_url, killed))
        ),
    )
    with capture_logs() as logs:
        report = await run(
            pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
        )
    await asyncio.gather(*kills)
    assert killed and killed[0] > 0
    assert any(e["event"] == "window.db_retry" for e in logs)
    source = report.sources[0]
    assert (report.outcome, source.windows_done) == ("succeeded", source.windows_planned)
    assert await stored_ids(pool) == reachable(tencent, frozen_now)
    assert await pool.fetchval("SELECT count(*) FROM coverage") == source.windows_planned
