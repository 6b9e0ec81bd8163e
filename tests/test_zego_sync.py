"""DescribeTasks end to end: the last 3 days, both filters, both list keys, and the gaps."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from pipeline.config import Settings
from pipeline.planning.sources import SyncRequest
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.sandbox import ZegoSandbox
from tests.conftest import FAST_RATE, ZEGO_APP_ID, ZEGO_SECRET, Clock, fast_settings, zego_account
from tests.runs import run, stored_ids

API = "DescribeTasks"
THREE_DAYS_MS = 3 * 86_400_000


def zego(clock: Clock, count: int = 140, **options: object) -> ZegoSandbox:
    sandbox = ZegoSandbox(
        credentials={ZEGO_APP_ID: ZEGO_SECRET},
        clock=clock,
        rate_limits={API: FAST_RATE},
        **options,  # type: ignore[arg-type]
    )
    sandbox.add_tasks(generate_zego_tasks(clock.now, count=count, seed=4))
    return sandbox


def settings_for(url: str) -> Settings:
    return fast_settings(zego_account(url))


def reachable(sandbox: ZegoSandbox, now: int) -> list[str]:
    oldest_ms = (now - 3 * 86_400 + 600) * 1000
    return sorted(
        t["TaskId"] for t in sandbox.tasks.values() if t["RecordBeginTimestamp"] >= oldest_ms
    )


@pytest.mark.parametrize("list_key", ["TaskidList", "TaskList"])
async def test_every_task_of_the_last_three_days_lands_once_whichever_list_key(
    pool: asyncpg.Pool, clock: Clock, list_key: str
) -> None:
    sandbox = zego(clock, list_key=list_key)
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == reachable(sandbox, clock.now)
    rooms = {
        r["task_id"]: r["room_id"] for r in await pool.fetch("SELECT task_id, room_id FROM tasks")
    }
    assert all(rooms[t] == sandbox.tasks[t]["RoomId"] for t in rooms)


async def test_a_count_without_a_task_list_fails_instead_of_looking_empty(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = zego(clock, list_key="none")
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), clock.now)
    assert (report.outcome, report.sources[0].error_code) == ("failed", "PagingError")
    assert await pool.fetchval("SELECT count(*) FROM coverage") == 0


async def test_every_request_keeps_the_three_day_rules_and_pages_from_one(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = zego(clock)
    async with sandbox.serve() as server:
        await run(pool, settings_for(server.url), SyncRequest(), clock.now)
    requests = sandbox.requests.of(API)
    assert sandbox.requests.outcomes() == {"ok": len(requests)}
    for r in requests:
        start, end = r.params["StartTime"], r.params["EndTime"]
        assert end - start <= THREE_DAYS_MS and start >= (clock.now - 3 * 86_400) * 1000
    assert {r.params["Status"] for r in requests} == {2, 3}
    assert min(r.params["PageOffset"] for r in requests) == 1


async def test_a_sync_too_late_records_a_gap_instead_of_asking_for_old_days(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = zego(clock)
    async with sandbox.serve() as server:
        settings = settings_for(server.url)
        await run(pool, settings, SyncRequest(), clock.now)
        first = clock.now
        clock.now += 5 * 86_400  # the scheduler stopped for five days
        report = await run(pool, settings, SyncRequest(), clock.now)
    assert sandbox.requests.outcomes() == {"ok": len(sandbox.requests)}
    gap = await pool.fetchrow("SELECT lower(period) AS lo, upper(period) AS hi FROM coverage_gaps")
    assert gap["lo"].timestamp() == first - timedelta(hours=24, seconds=60).total_seconds()
    assert gap["hi"].timestamp() == clock.now - 3 * 86_400 + 600
    assert any("gap recorded" in note for note in report.sources[0].notes)


async def test_status_changes_give_one_history_row_each_and_a_rerun_none(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = zego(clock)
    async with sandbox.serve() as server:
        settings = settings_for(server.url)
        await run(pool, settings, SyncRequest(), clock.now)
        recording = [t["TaskId"] for t in sandbox.tasks.values() if t["Status"] == 2][:2]
        sandbox.set_status(recording[0], 3)
        sandbox.set_status(recording[1], 4)
        await run(pool, settings, SyncRequest(), clock.now + 60)
        await run(pool, settings, SyncRequest(), clock.now + 120)
    history = await pool.fetch(
        "SELECT task_id, old_status, new_status FROM task_history ORDER BY new_status"
    )
    assert [tuple(h) for h in history] == [
        (recording[1], "running", "failed"),
        (recording[0], "running", "finished"),
    ]


async def test_a_task_that_ends_while_the_recording_list_is_paged_is_not_lost(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = zego(clock, count=900)  # several pages of recording tasks
    recording = sum(t["Status"] == 2 for t in sandbox.tasks.values())
    assert recording > 50
    newest_recording = max(
        (t for t in sandbox.tasks.values() if t["Status"] == 2),
        key=lambda t: t["RecordBeginTimestamp"],
    )["TaskId"]
    sandbox.on_request(API, 2, lambda s: s.set_status(newest_recording, 3))
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == reachable(sandbox, clock.now)
    assert (
        await pool.fetchval("SELECT status FROM tasks WHERE task_id = $1", newest_recording)
        == "finished"
    )


async def test_rate_limit_and_system_errors_are_retried(pool: asyncpg.Pool, clock: Clock) -> None:
    sandbox = zego(clock)
    sandbox.faults = FaultPlan.script(
        [FaultKind.RATE_LIMIT, FaultKind.INTERNAL_ERROR, FaultKind.RESET]
    )
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), clock.now)
    assert (report.outcome, report.sources[0].retries) == ("succeeded", 3)
    assert await stored_ids(pool) == reachable(sandbox, clock.now)
