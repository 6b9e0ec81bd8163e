"""ListPullRecordTask end to end: every task once, with its offset and status, as the list moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import asyncpg
import pytest
from pydantic import SecretStr

from pipeline.config import Settings
from pipeline.planning.sources import SyncRequest
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from tests.conftest import FAST_RATE, Clock, fast_settings
from tests.runs import run, stored_ids

API, GET = "ListPullRecordTask", "GetPullRecordTask"
AK, SK = "AKLTtest0000000000000000", "volc-test-secret-3c9d"


def make_sandbox(
    now: int, count: int, *, clock: Callable[[], float] | None = None, **options: object
) -> VolcengineSandbox:
    """`count` tasks around `now`, on `clock` (frozen at `now` unless given)."""
    sandbox = VolcengineSandbox(
        credentials={AK: SK},
        clock=clock or (lambda: now),
        rate_limits={API: FAST_RATE, GET: FAST_RATE},
        **options,  # type: ignore[arg-type]
    )
    sandbox.add_tasks(generate_pull_record_tasks(now, count=count, seed=9))
    return sandbox


def settings_for(url: str) -> Settings:
    account = VolcengineAccount(
        name="volc-main",
        vendor="volcengine",
        access_key_id=AK,
        secret_access_key=SecretStr(SK),
        endpoint=url,
        rate_limits={API: FAST_RATE, GET: FAST_RATE},
    )
    return fast_settings(account)


@pytest.fixture
def volc(clock: Clock) -> VolcengineSandbox:
    """Three pages of 500: enough for the list to shift between page reads."""
    return make_sandbox(clock.now, 1100, clock=clock)


@pytest.fixture
async def settings(volc: VolcengineSandbox) -> AsyncIterator[Settings]:
    async with volc.serve() as server:
        yield settings_for(server.url)


def listed(sandbox: VolcengineSandbox) -> list[str]:
    return sorted(sandbox.tasks)


async def test_every_task_lands_once_with_its_own_offset_converted(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, clock: Clock
) -> None:
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == listed(volc)
    rows = {
        r["task_id"]: r
        for r in await pool.fetch("SELECT task_id, start_time, vendor_status FROM tasks")
    }
    offsets = {t["StartTime"][-6:] == "+08:00" for t in volc.tasks.values()}
    assert offsets == {True, False}  # both Z and +08:00 are in the data
    for task in volc.tasks.values():
        stored = rows[task["TaskId"]]
        assert stored["start_time"] == datetime.fromisoformat(task["StartTime"])
        assert stored["vendor_status"] == task["Status"]
    assert {r.params["PageSize"] for r in volc.requests.of(API)} == {500}


async def test_a_task_created_between_page_reads_is_not_lost(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, clock: Clock
) -> None:
    # Created now, so the list (newest first) shows it on page 1, which was already read.
    generated = generate_pull_record_tasks(clock.now, count=1, seed=77)[0]
    extra = {k: v for k, v in generated.items() if k != "CreateTime"}
    new_id = extra["TaskId"]
    assert new_id not in volc.tasks
    volc.on_request(API, 2, lambda sandbox: sandbox.add_tasks([extra]))
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert volc.ordered_tasks()[0]["TaskId"] == new_id
    assert await stored_ids(pool) == listed(volc)
    assert report.sources[0].counts.inserted == len(volc.tasks)


async def test_a_task_removed_between_page_reads_hides_no_other(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, clock: Clock
) -> None:
    first = volc.ordered_tasks()[0]["TaskId"]
    volc.on_request(API, 2, lambda sandbox: sandbox.delete_task(first))
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert first not in volc.tasks  # removed after page 1 (which lists it) was read
    # Every task still listed is stored, and the removed one too: it was read before it went.
    assert await stored_ids(pool) == sorted([*listed(volc), first])
    assert report.sources[0].counts.inserted == len(volc.tasks) + 1


async def test_an_unknown_status_is_kept_as_unknown_without_failing(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, clock: Clock
) -> None:
    odd = listed(volc)[0]
    volc.tasks[odd]["Status"] = "Paused"
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    row = await pool.fetchrow("SELECT status, vendor_status FROM tasks WHERE task_id = $1", odd)
    assert (row["status"], row["vendor_status"]) == ("unknown", "Paused")


async def test_a_status_change_gives_one_history_row_and_a_rerun_none(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, clock: Clock
) -> None:
    reports = [await run(pool, settings, SyncRequest(), clock.now)]
    running = next(t["TaskId"] for t in volc.tasks.values() if t["Status"] == "生效中")
    clock.now += 60
    volc.update_task(running, Status="停用")
    reports.append(await run(pool, settings, SyncRequest(), clock.now))
    history = await pool.fetch("SELECT task_id, old_status, new_status FROM task_history")
    assert [tuple(h) for h in history] == [(running, "running", "stopped")]
    clock.now += 60
    reports.append(await run(pool, settings, SyncRequest(), clock.now))
    assert [r.outcome for r in reports] == ["succeeded"] * 3
    assert await pool.fetchval("SELECT count(*) FROM task_history") == 1


async def test_missing_list_fields_are_filled_from_get_pull_record_task(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    sandbox = make_sandbox(frozen_now, 30, list_omits=frozenset({"Status"}), get_shape="detail")
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), frozen_now)
    assert report.outcome == "succeeded"
    assert len(sandbox.requests.of(GET)) == 30
    statuses = {r["task_id"]: r["vendor_status"] for r in await pool.fetch("SELECT * FROM tasks")}
    assert statuses == {t["TaskId"]: t["Status"] for t in sandbox.tasks.values()}


async def test_flow_limits_and_errors_in_http_200_are_retried(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, clock: Clock
) -> None:
    volc.faults = FaultPlan.script(
        [FaultKind.RATE_LIMIT, FaultKind.INTERNAL_ERROR, FaultKind.HTTP_5XX]
    )
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert (report.outcome, report.sources[0].retries) == ("succeeded", 3)
    assert await stored_ids(pool) == listed(volc)


async def test_a_wrong_secret_fails_without_retrying(pool: asyncpg.Pool, frozen_now: int) -> None:
    sandbox = make_sandbox(frozen_now, 5)
    async with sandbox.serve() as server:
        settings = settings_for(server.url)
        bad = settings.accounts[0].model_copy(update={"secret_access_key": SecretStr("wrong")})
        report = await run(
            pool, settings.model_copy(update={"accounts": (bad,)}), SyncRequest(), frozen_now
        )
    source = report.sources[0]
    assert (source.outcome, source.error_code, source.retries) == (
        "failed",
        "SignatureDoesNotMatch",
        0,
    )
