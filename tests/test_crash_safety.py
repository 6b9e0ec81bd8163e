"""Killed, stopped or doubled processes: the database stays whole and the next run resumes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY
from tests.processes import start, tencent_config, wait_until
from tests.runs import stored_ids

API = "DescribeRecordTask"
STOPS_WITHIN = 8.0  # seconds: "within a few seconds", with room for a loaded CI machine
BACKFILL = ["backfill", "--since", "2000-01-01"]


@pytest.fixture
def sandbox() -> TencentSandbox:
    """Tasks well inside the 90-day reach, on the real clock (the child process uses it)."""
    # Told of the rate the configs below set: it counts every sliding second, as strictly.
    twin = TencentSandbox(credentials={SECRET_ID: SECRET_KEY}, page_size=50, rate_limits={API: 25})
    twin.add_record_tasks(generate_record_tasks(int(time.time()), days_back=80, per_day=25, seed=8))
    return twin


@pytest.fixture
async def config(sandbox: TencentSandbox, tmp_path: Path) -> AsyncIterator[Path]:
    async with sandbox.serve() as server:
        yield tencent_config(tmp_path, server.url, SECRET_ID, rate=25)


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    return {"PIPELINE_DATABASE_URL": db_url, "TENCENT_SECRET_KEY": SECRET_KEY}


def windows_asked(sandbox: TencentSandbox, since: int = 0) -> set[int]:
    return {
        r.params["StartTime"]
        for r in sandbox.requests.of(API)[since:]
        if "ScrollToken" not in r.params
    }


async def committed_window_starts(pool: asyncpg.Pool) -> set[int]:
    rows = await pool.fetch("SELECT lower(period) AS lo FROM coverage")
    return {int(r["lo"].timestamp()) for r in rows}


async def test_a_backfill_killed_at_any_point_resumes_without_refetching_or_losing(
    pool: asyncpg.Pool, sandbox: TencentSandbox, config: Path, env: dict[str, str]
) -> None:
    argv = [*BACKFILL, "--config", str(config)]
    done_before: set[int] = set()
    for kill_after in (4, 12, 20):
        seen = len(sandbox.requests)
        child = await start(argv, env)
        await wait_until(lambda target=seen + kill_after: len(sandbox.requests) >= target)
        child.send_signal(signal.SIGKILL)
        await child.wait()
        # No window completed before this run was asked for again in it.
        assert not (windows_asked(sandbox, seen) & done_before)
        done_before = await committed_window_starts(pool)
    seen = len(sandbox.requests)
    finisher = await start(argv, env)
    _, err = await finisher.communicate()
    assert finisher.returncode == 0, err.decode()[-2000:]
    assert not (windows_asked(sandbox, seen) & done_before)
    assert await stored_ids(pool) == sorted(sandbox.record_tasks)


def stall_after(sandbox: TencentSandbox, answered: int) -> None:
    """Answer `answered` requests, then hold the next one for a minute (longer than the test)."""
    sandbox.faults = FaultPlan.script([None] * answered + [FaultKind.SLOW], slow_seconds=60)


async def stalled_child(
    sandbox: TencentSandbox, tmp_path: Path, url: str, env: dict[str, str]
) -> asyncio.subprocess.Process:
    """A backfill, one window at a time, stuck in a request its 60 s timeout has not ended."""
    stall_after(sandbox, 8)
    one_at_a_time = "concurrency: {windows_per_source: 1}\nhttp: {timeout_seconds: 60}\n"
    config = tencent_config(tmp_path, url, SECRET_ID, rate=25, extra=one_at_a_time)
    child = await start([*BACKFILL, "--config", str(config)], env)
    await wait_until(lambda: len(sandbox.requests) >= 9)
    return child


async def test_sigterm_during_a_stalled_request_stops_the_run_within_seconds_as_interrupted(
    pool: asyncpg.Pool, sandbox: TencentSandbox, tmp_path: Path, env: dict[str, str]
) -> None:
    async with sandbox.serve() as server:
        child = await stalled_child(sandbox, tmp_path, server.url, env)
        child.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(child.communicate(), timeout=STOPS_WITHIN)
    assert child.returncode == 1, err.decode()[-2000:]
    run = await pool.fetchrow("SELECT outcome FROM sync_runs")
    source = await pool.fetchrow(
        "SELECT outcome, windows_done, windows_planned, notes FROM sync_run_sources"
    )
    assert (run["outcome"], source["outcome"]) == ("interrupted", "interrupted")
    assert 0 < source["windows_done"] < source["windows_planned"]
    assert await pool.fetchval("SELECT count(*) FROM coverage") == source["windows_done"]


async def test_a_process_killed_while_stalled_leaves_no_lock_behind(
    pool: asyncpg.Pool, sandbox: TencentSandbox, tmp_path: Path, env: dict[str, str]
) -> None:
    async with sandbox.serve() as server:
        child = await stalled_child(sandbox, tmp_path, server.url, env)
        child.send_signal(signal.SIGKILL)
        await child.wait()
    key = f"tencent/tencent-main/{API}"
    async with pool.acquire() as conn, asyncio.timeout(STOPS_WITHIN):
        # The server drops a dead client's session, and its locks, as soon as it sees the EOF.
        while not await conn.fetchval(  # noqa: ASYNC110 - the server signals nothing to wait on
            "SELECT pg_try_advisory_lock(hashtextextended('pipeline:' || $1, 0))", key
        ):
            await asyncio.sleep(0.05)


async def test_two_syncs_at_once_never_load_the_same_source_together(
    pool: asyncpg.Pool, tmp_path: Path, sandbox: TencentSandbox, env: dict[str, str]
) -> None:
    async with sandbox.serve() as server:
        config = tencent_config(tmp_path, server.url, SECRET_ID, rate=10)
        argv = ["sync", "--config", str(config)]
        first, second = await start(argv, env), await start(argv, env)
        results = await asyncio.gather(first.communicate(), second.communicate())
    assert (first.returncode, second.returncode) == (0, 0)
    outcomes = sorted(
        r["outcome"] for r in await pool.fetch("SELECT outcome FROM sync_run_sources")
    )
    assert outcomes == ["skipped", "succeeded"]
    assert any(b"another process" in err for _, err in results)
    assert await stored_ids(pool) == sorted(sandbox.record_tasks)
