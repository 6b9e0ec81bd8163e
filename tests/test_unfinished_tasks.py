"""A start time settles by what the vendor shows: a task last seen unfinished is read again
until it is seen ended, however long it outlives the documented maximum, or becomes a gap."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import UTC, datetime

import asyncpg
from structlog.testing import capture_logs

from pipeline.config import Settings
from pipeline.planning.sources import SyncRequest
from pipeline.status import show_status
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.zego.fakedata import generate_zego_tasks, overlong_zego_tasks
from pipeline.vendors.zego.sandbox import ZegoSandbox
from tests.conftest import (
    FAST_RATE,
    SECRET_ID,
    SECRET_KEY,
    ZEGO_APP_ID,
    ZEGO_SECRET,
    Clock,
    fast_settings,
    tencent_account,
    zego_account,
)
from tests.runs import run

HOUR = 3600


def zego(clock: Clock, overlong: list[dict]) -> ZegoSandbox:
    sandbox = ZegoSandbox(
        credentials={ZEGO_APP_ID: ZEGO_SECRET},
        clock=clock,
        rate_limits={"DescribeTasks": FAST_RATE},
    )
    sandbox.add_tasks(generate_zego_tasks(clock.now, count=60, seed=8))
    sandbox.add_tasks(overlong)
    return sandbox


def zego_settings(url: str) -> Settings:
    return fast_settings(zego_account(url))


async def sync_at(pool: asyncpg.Pool, settings: Settings, clock: Clock, hours: float):
    clock.now = clock.start + int(hours * HOUR)
    return await run(pool, settings, SyncRequest(), clock.now)


async def task_row(pool: asyncpg.Pool, task_id: str) -> asyncpg.Record:
    return await pool.fetchrow("SELECT status, last_seen_at FROM tasks WHERE task_id = $1", task_id)


async def history_of(pool: asyncpg.Pool, task_id: str) -> list[tuple]:
    rows = await pool.fetch(
        "SELECT old_status, new_status FROM task_history WHERE task_id = $1", task_id
    )
    return [tuple(r) for r in rows]


async def sync_across_its_end(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, task_id: str
) -> None:
    """Syncs at 0, 30, 41 and 42 h around a 40-hour task begun an hour before the first: seen
    running past the 24 h after which its start time would once have settled, then ended."""
    for hours in (0, 30, 41, 42):
        report = await sync_at(pool, settings, clock, hours)
        assert report.outcome == "succeeded"
        if hours == 30:
            assert (await task_row(pool, task_id))["status"] == "running"


async def test_a_zego_task_recording_for_40_hours_is_recorded_ended_once_it_ends(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    long = overlong_zego_tasks(clock.now, count=1, hours=(40, 40))[0]
    sandbox = zego(clock, [long])
    async with sandbox.serve() as server:
        settings = zego_settings(server.url)
        await sync_across_its_end(pool, settings, clock, long["TaskId"])
    row = await task_row(pool, long["TaskId"])
    assert row["status"] == "finished"
    assert row["last_seen_at"] >= datetime.fromtimestamp(clock.start + 41 * HOUR, UTC)
    assert await history_of(pool, long["TaskId"]) == [("running", "finished")]


async def test_a_tencent_record_task_of_40_hours_is_recorded_finished_past_its_end(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=clock,
        rate_limits={"DescribeRecordTask": FAST_RATE},
    )
    sandbox.add_record_tasks(generate_record_tasks(clock.now, per_day=2, seed=5))
    start = clock.now - HOUR
    long = {"TaskId": "long-1", "StreamName": "marathon", "DomainName": "push.example.com",
            "AppName": "live", "StartTime": start, "EndTime": start + 40 * HOUR}  # fmt: skip
    sandbox.add_record_tasks([long])
    async with sandbox.serve() as server:
        settings = fast_settings(tencent_account(server.url))
        await sync_across_its_end(pool, settings, clock, "long-1")
    assert (await task_row(pool, "long-1"))["status"] == "finished"
    assert await history_of(pool, "long-1") == [("running", "finished")]


async def test_no_extra_window_is_asked_for_once_every_task_was_seen_ended(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    sandbox = zego(clock, overlong_zego_tasks(clock.now, count=2, hours=(30, 31)))
    async with sandbox.serve() as server:
        settings = zego_settings(server.url)
        await sync_at(pool, settings, clock, 0)
        await sync_at(pool, settings, clock, 26)
        await sync_at(pool, settings, clock, 33)  # both seen ended here
        before = len(sandbox.requests)
        await sync_at(pool, settings, clock, 34)
    windows = {(r.params["StartTime"], r.params["EndTime"]) for r in sandbox.requests[before:]}
    assert len(windows) == 1  # the one window of unsettled start times, nothing for the two


async def test_a_task_seen_unfinished_past_the_documented_maximum_is_warned_about_once(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    long = overlong_zego_tasks(clock.now, count=1, hours=(60, 60))[0]
    sandbox = zego(clock, [long])
    async with sandbox.serve() as server:
        settings = zego_settings(server.url)
        for hours in (0, 24, 47):
            await sync_at(pool, settings, clock, hours)
        with capture_logs() as logs:
            await sync_at(pool, settings, clock, 50)  # 51 h recording, documented 48 h
    warned = [e for e in logs if e["event"] == "task.outlived_documented_maximum"]
    assert [e["task_id"] for e in warned] == [long["TaskId"]]
    assert warned[0]["documented_maximum_hours"] == 48


async def test_a_task_unfinished_when_it_falls_out_of_reach_is_a_gap_status_reports(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    never_ends = overlong_zego_tasks(clock.now, count=1, hours=(500, 500))[0]
    sandbox = zego(clock, [never_ends])
    async with sandbox.serve() as server:
        settings = zego_settings(server.url)
        for hours in (0, 20, 40, 60):  # often enough that no start time goes unfetched
            await sync_at(pool, settings, clock, hours)
        report = await sync_at(pool, settings, clock, 73)  # its start is now 74 h back
    assert report.outcome == "succeeded"
    gaps = await pool.fetch("SELECT kind, task_id FROM coverage_gaps")
    assert [tuple(g) for g in gaps] == [("unfinished", never_ends["TaskId"])]
    assert any(never_ends["TaskId"] in note for note in report.sources[0].notes)
    out = io.StringIO()
    now = datetime.fromtimestamp(clock.now, UTC)
    with redirect_stdout(out):
        code = await show_status(pool, settings, as_json=False, now=now)
    assert code == 1
    assert f"task {never_ends['TaskId']} was last seen running" in out.getvalue()
