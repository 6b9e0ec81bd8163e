"""A database connection killed mid-load leaves no half-written window."""

from __future__ import annotations

from typing import Any

import asyncpg
from structlog.testing import capture_logs

from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import fast_settings, tencent_account
from tests.gates import serve_gated
from tests.runs import backfill_all, reachable, run, stored_ids

# Window loads hold their transaction open while their next page is fetched; planning and run
# bookkeeping run in autocommit, so only window loads are ever idle in a transaction. Each kill
# waits (up to 5 s) until the backend has gone.
KILL_WAITING_WINDOW_LOADS = """
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND state = 'idle in transaction'
"""


async def test_a_killed_connection_mid_window_is_retried_and_nothing_is_half_written(
    pool: asyncpg.Pool, db_url: str, tencent: TencentSandbox, frozen_now: int
) -> None:
    held: list[int] = []
    killed: list[int] = []

    async def kill_at_the_first_second_page(n: int, body: dict[str, Any]) -> None:
        # A window asking for its second page has staged its first in its open transaction
        # and waits for this answer: its connection is idle in that transaction until then.
        if "ScrollToken" in body and not held:
            held.append(n)
            conn = await asyncpg.connect(db_url)
            try:
                killed.append(await conn.fetchval(KILL_WAITING_WINDOW_LOADS))
            finally:
                await conn.close()

    async with serve_gated(tencent, kill_at_the_first_second_page) as server:
        with capture_logs() as logs:
            report = await run(
                pool,
                fast_settings(tencent_account(server.url)),
                backfill_all(frozen_now),
                frozen_now,
            )
    assert killed and killed[0] >= 1  # the held window's load, and any other waiting then
    assert sum(e["event"] == "window.db_retry" for e in logs) == killed[0]
    source = report.sources[0]
    assert (report.outcome, source.windows_done) == ("succeeded", source.windows_planned)
    assert await stored_ids(pool) == reachable(tencent, frozen_now)
    assert await pool.fetchval("SELECT count(*) FROM coverage") == source.windows_planned
