"""DescribeLivePullStreamTasks end to end: a list that shifts while it is read loses nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from pipeline.config import Settings
from pipeline.planning.sources import SyncRequest
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, Clock, fast_settings, tencent_account
from tests.runs import run, stored_ids

API = "DescribeLivePullStreamTasks"


@pytest.fixture
def relay(clock: Clock) -> TencentSandbox:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=clock, rate_limits={API: FAST_RATE}
    )
    sandbox.add_pull_tasks(generate_pull_tasks(clock.now, count=55, seed=5))
    return sandbox


@pytest.fixture
async def settings(relay: TencentSandbox) -> AsyncIterator[Settings]:
    async with relay.serve() as server:
        yield fast_settings(tencent_account(server.url, apis=(API,)))


def listed(sandbox: TencentSandbox) -> list[str]:
    return sorted(sandbox.pull_tasks)


def back_of_the_list(sandbox: TencentSandbox) -> str:
    return min(sandbox.pull_tasks.values(), key=lambda t: (t["UpdateTime"], t["TaskId"]))["TaskId"]


def update_one(
    clock: Clock, task_id: str | None = None, **fields: object
) -> Callable[[TencentSandbox], None]:
    """A change to make mid-scan: one task updated, so it jumps to the front of the list."""

    def change(sandbox: TencentSandbox) -> None:
        clock.now += 1
        sandbox.update_pull_task(task_id or back_of_the_list(sandbox), **fields)

    return change


async def test_every_relay_task_lands_once_in_pages_of_at_most_20(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == listed(relay)
    sizes = {r.params["PageSize"] for r in relay.requests.of(API)}
    assert sizes == {20}
    assert len(relay.requests.of(API)) == 3 + 1  # 55 tasks in 3 pages, then one check of page 1


async def test_a_task_updated_between_page_reads_is_neither_lost_nor_doubled(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    moved = back_of_the_list(relay)  # on the last page until it is updated
    relay.on_request(API, 2, update_one(clock, moved, Status="pause"))
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == listed(relay)
    assert await pool.fetchval("SELECT status FROM tasks WHERE task_id = $1", moved) == "stopped"
    assert report.sources[0].counts.inserted == len(relay.pull_tasks)


async def test_a_task_deleted_during_the_scan_does_not_hide_another(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    front = max(relay.pull_tasks.values(), key=lambda t: (t["UpdateTime"], t["TaskId"]))["TaskId"]
    relay.on_request(API, 2, lambda sandbox: sandbox.delete_pull_task(front))
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert front not in relay.pull_tasks  # deleted after the first page had listed it
    assert await stored_ids(pool) == sorted([*listed(relay), front])
    assert report.sources[0].counts.inserted == len(relay.pull_tasks) + 1


async def test_a_task_the_vendor_deleted_stays_and_is_findable_as_deleted(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    first = await run(pool, settings, SyncRequest(), clock.now)
    assert first.outcome == "succeeded"
    gone = listed(relay)[0]
    relay.delete_pull_task(gone)
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == sorted([*listed(relay), gone])
    deleted = await pool.fetch("SELECT task_id FROM tasks WHERE vendor_deleted_at IS NOT NULL")
    assert [r["task_id"] for r in deleted] == [gone]
    assert report.sources[0].counts.deleted == 1
    history = await pool.fetch("SELECT task_id, changes::text FROM task_history")
    assert [h["task_id"] for h in history] == [gone]
    assert "vendor_deleted_at" in history[0]["changes"]


async def test_an_updated_task_gets_one_history_row_and_an_unchanged_one_none(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    reports = [await run(pool, settings, SyncRequest(), clock.now)]
    target = listed(relay)[3]
    clock.now += 1
    relay.update_pull_task(
        target, SourceUrls=["rtmp://backup.example.com/live/x"], EndTime="2099-01-01T00:00:00Z"
    )
    reports.append(await run(pool, settings, SyncRequest(), clock.now))
    history = await pool.fetch("SELECT task_id, changes FROM task_history")
    assert [h["task_id"] for h in history] == [target]
    assert {"end_time", "raw.SourceUrls", "raw.EndTime"} <= set(json.loads(history[0]["changes"]))
    reports.append(await run(pool, settings, SyncRequest(), clock.now))
    assert [r.outcome for r in reports] == ["succeeded"] * 3
    assert [r.sources[0].counts.changed for r in reports] == [0, 1, 0]
    assert await pool.fetchval("SELECT count(*) FROM task_history") == 1


async def test_rate_limit_and_transient_errors_are_retried(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    relay.faults = FaultPlan.script(
        [FaultKind.RATE_LIMIT, FaultKind.HTTP_5XX, FaultKind.RESET, FaultKind.INTERNAL_ERROR]
    )
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert (report.outcome, report.sources[0].retries) == ("succeeded", 4)
    assert await stored_ids(pool) == listed(relay)


async def test_a_list_that_never_settles_is_loaded_without_claiming_completeness(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    await run(pool, settings, SyncRequest(), clock.now)
    relay.delete_pull_task(listed(relay)[0])
    for n in range(6, 6 + 4 * 8):  # an update during every scan of the next run
        relay.on_request(API, n, update_one(clock))
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert (
        await pool.fetchval("SELECT count(*) FROM tasks WHERE vendor_deleted_at IS NOT NULL") == 0
    )
    assert await pool.fetchval("SELECT count(*) FROM coverage") == 1  # the first run's only
