"""DescribeRecordTask end to end: sandbox over real HTTP, a real Postgres, the real runner."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import aiohttp
import asyncpg
import pytest

from pipeline.jobs import Job, SourceRunner
from pipeline.model import SourceKey
from pipeline.pacing import StrictPacer
from pipeline.planning.sources import SyncRequest
from pipeline.progress import SilentProgress
from pipeline.retry import RetryPolicy
from pipeline.transport import Transport
from pipeline.vendors.tencent.client import TencentClient
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.record_tasks import RULES, RecordTasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, Clock, fast_settings, tencent_account
from tests.runs import backfill_all, reachable, run, stored_ids

WEEK = 7 * 86_400


@pytest.fixture
def tencent(clock: Clock) -> TencentSandbox:
    """The shared Tencent twin, on the test's clock: a test that moves the clock moves both."""
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=clock,
        rate_limits={"DescribeRecordTask": FAST_RATE},
    )
    sandbox.add_record_tasks(generate_record_tasks(clock.now, per_day=30, seed=11))
    return sandbox


def straddlers(sandbox: TencentSandbox, boundaries: list[int]) -> list[str]:
    return sorted(
        t["TaskId"]
        for t in sandbox.record_tasks.values()
        if any(t["StartTime"] < b < t["EndTime"] for b in boundaries)
    )


async def test_backfill_lands_every_reachable_task_exactly_once(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == reachable(tencent, frozen_now)
    assert report.sources[0].counts.inserted == len(reachable(tencent, frozen_now))


async def test_overlapping_windows_leave_no_read_parked_and_no_history_in_a_backfill(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    assert await pool.fetchval("SELECT count(*) FROM deferred_reads") == 0
    assert await pool.fetchval("SELECT count(*) FROM task_history") == 0


async def test_every_request_respects_the_week_and_90_day_rules(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    windows = [
        (r.params["StartTime"], r.params["EndTime"])
        for r in tencent.requests.of("DescribeRecordTask")
    ]
    assert windows
    assert all(end - start <= WEEK and start >= frozen_now - 90 * 86_400 for start, end in windows)
    assert tencent.requests.outcomes() == {"ok": len(windows)}


async def test_tasks_straddling_window_boundaries_are_loaded(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    boundaries = [r.params["EndTime"] for r in tencent.requests.of("DescribeRecordTask")]
    crossing = straddlers(tencent, boundaries)
    assert crossing, "the data set must hold tasks crossing a window end"
    assert set(crossing) <= set(await stored_ids(pool))
    assert report.outcome == "succeeded"


async def test_windows_without_overlap_would_lose_the_straddling_tasks(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    naive = RecordTasks(rules=replace(RULES, overlap=timedelta(0)))
    account = tencent_account(tencent_url)
    runner = SourceRunner(
        pool=pool, run_id=None, clock=lambda: frozen_now, concurrency=4, progress=SilentProgress()
    )
    async with aiohttp.ClientSession() as session:
        transport = Transport(
            session=session,
            client=TencentClient(account),
            api=naive.api,
            limiter=StrictPacer(1000),
            policy=RetryPolicy(),
            timeout=5,
            clock=lambda: frozen_now,
        )
        key = SourceKey("tencent", account.name, naive.api)
        await runner.run(Job(key, naive, transport), backfill_all(frozen_now))
    boundaries = [r.params["EndTime"] for r in tencent.requests.of("DescribeRecordTask")]
    missing = set(reachable(tencent, frozen_now)) - set(await stored_ids(pool))
    assert missing
    assert missing <= set(straddlers(tencent, boundaries))


async def test_a_second_identical_sync_changes_nothing(
    pool: asyncpg.Pool, tencent_url: str, frozen_now: int
) -> None:
    settings = fast_settings(tencent_account(tencent_url))
    await run(pool, settings, SyncRequest(), frozen_now)
    before = await pool.fetch("SELECT * FROM tasks ORDER BY task_id")
    report = await run(pool, settings, SyncRequest(), frozen_now)
    assert await pool.fetch("SELECT * FROM tasks ORDER BY task_id") == before
    assert await pool.fetchval("SELECT count(*) FROM task_history") == 0
    assert report.sources[0].counts.changed == 0


async def test_stopping_a_task_updates_it_with_one_history_row(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    settings = fast_settings(tencent_account(tencent_url))
    await run(pool, settings, SyncRequest(), frozen_now)
    running = next(
        t
        for t in tencent.record_tasks.values()
        if t["StartTime"] < frozen_now < t["EndTime"] and not t["Stopped"]
    )
    tencent.stop_record_task(running["TaskId"], frozen_now - 5)
    await run(pool, settings, SyncRequest(), frozen_now)
    history = await pool.fetch("SELECT task_id, old_status, new_status FROM task_history")
    assert [tuple(h) for h in history] == [(running["TaskId"], "running", "stopped")]
    stored = await pool.fetchrow(
        "SELECT status, raw->>'Stopped' AS stopped FROM tasks WHERE task_id = $1", running["TaskId"]
    )
    assert (stored["status"], stored["stopped"]) == ("stopped", str(frozen_now - 5))


async def test_sync_after_a_backfill_asks_only_for_the_unsettled_days(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, clock: Clock
) -> None:
    settings = fast_settings(tencent_account(tencent_url))
    backfill = await run(pool, settings, backfill_all(clock.now), clock.now)
    assert backfill.outcome == "succeeded"
    settled_until = clock.now - RULES.settle_after.total_seconds()
    tencent.requests.clear()
    clock.now += 3600  # an hour later, for the twin's signature checks as for the pipeline
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded", report.sources[0].error_code
    assert tencent.requests.outcomes() == {"ok": report.sources[0].requests}
    windows = {
        (r.params["StartTime"], r.params["EndTime"])
        for r in tencent.requests.of("DescribeRecordTask")
    }
    # From where the backfill's settled coverage ends to as far ahead as tasks can be scheduled:
    # nothing settled is asked for again, nothing unsettled is left out.
    assert min(start for start, _ in windows) == settled_until
    assert max(end for _, end in windows) == clock.now + RULES.horizon.total_seconds()
    assert len(windows) == report.sources[0].windows_done == 2


async def test_a_record_task_the_vendor_deleted_is_kept_and_marked(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    settings = fast_settings(tencent_account(tencent_url))
    await run(pool, settings, SyncRequest(), frozen_now)
    scheduled = next(t for t in tencent.record_tasks.values() if t["StartTime"] > frozen_now)
    tencent.delete_record_task(scheduled["TaskId"])
    report = await run(pool, settings, SyncRequest(), frozen_now)
    marked = await pool.fetch("SELECT task_id FROM tasks WHERE vendor_deleted_at IS NOT NULL")
    assert [r["task_id"] for r in marked] == [scheduled["TaskId"]]
    assert report.sources[0].counts.deleted == 1
