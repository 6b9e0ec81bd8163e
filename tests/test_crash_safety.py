"""Killed, stopped or doubled processes: the database stays whole and the next run resumes."""

from __future__ import annotations

import asyncio
import signal
import time
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY
from tests.gates import serve_gated
from tests.processes import start, tencent_config
from tests.runs import stored_ids

API = "DescribeRecordTask"
STOPS_WITHIN = 8.0  # seconds: "within a few seconds", with room for a loaded CI machine
BACKFILL = ["backfill", "--since", "2000-01-01"]
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('pipeline:' || $1, 0))"


@pytest.fixture
def sandbox() -> TencentSandbox:
    """Tasks well inside the 90-day reach, on the real clock (the child process uses it)."""
    # Told of the rate the configs below set: it counts every sliding second, as strictly.
    twin = TencentSandbox(credentials={SECRET_ID: SECRET_KEY}, page_size=50, rate_limits={API: 25})
    twin.add_record_tasks(generate_record_tasks(int(time.time()), days_back=80, per_day=25, seed=8))
    return twin


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    return {"PIPELINE_DATABASE_URL": db_url, "TENCENT_SECRET_KEY": SECRET_KEY}


def windows_asked(sandbox: TencentSandbox, since: int = 0) -> set[int]:
    return {
        r.params["StartTime"]
        for r in sandbox.requests.of(API)[since:]
        if "ScrollToken" not in r.params
    }


async def committed(pool: asyncpg.Pool) -> list[tuple[int, int]]:
    """The start times each committed window covers, [lo, hi) in Unix seconds."""
    rows = await pool.fetch("SELECT lower(period) AS lo, upper(period) AS hi FROM coverage")
    return [(int(r["lo"].timestamp()), int(r["hi"].timestamp())) for r in rows]


def refetched(starts: set[int], done: list[tuple[int, int]]) -> set[int]:
    """Windows asked for again although their start lies in what a committed window covers.

    Compared by range, not by equal starts: a resumed run plans on a later clock, so a window
    planned again from scratch would not start on the same second as the committed one.
    """
    return {s for s in starts if any(lo <= s < hi for lo, hi in done)}


async def test_a_backfill_killed_at_any_point_resumes_without_refetching_or_losing(
    pool: asyncpg.Pool, sandbox: TencentSandbox, tmp_path: Path, env: dict[str, str]
) -> None:
    children: list[Process] = []
    kill_at: list[int] = []  # for each child, the request it dies waiting for the answer to
    arrived = [0]

    async def kill_the_child(n: int, _: object) -> None:
        arrived[0] = n
        if children and children[-1].returncode is None and n >= kill_at[-1]:
            children[-1].send_signal(signal.SIGKILL)

    async with serve_gated(sandbox, kill_the_child) as server:
        argv = [*BACKFILL, "--config", str(tencent_config(tmp_path, server.url, SECRET_ID, 25))]
        done_before: list[tuple[int, int]] = []
        for kill_after in (4, 12, 20):
            seen = len(sandbox.requests)
            children.append(await start(argv, env))
            kill_at.append(arrived[0] + kill_after)
            await ended(children[-1])
            assert children[-1].returncode == -signal.SIGKILL  # killed, not finished
            # No window completed before this run was asked for again in it.
            assert not refetched(windows_asked(sandbox, seen), done_before)
            done_before = await committed(pool)
        seen = len(sandbox.requests)
        finisher = await start(argv, env)
        _, err = await ended(finisher)
    assert finisher.returncode == 0, err.decode()[-2000:]
    assert done_before  # the kills left committed windows for the finisher to skip
    assert not refetched(windows_asked(sandbox, seen), done_before)
    assert await stored_ids(pool) == sorted(sandbox.record_tasks)


async def ended(child: Process) -> tuple[bytes, bytes]:
    """The child's output once it has exited (read meanwhile, so a full pipe cannot block it)."""
    async with asyncio.timeout(60):
        return await child.communicate()


@asynccontextmanager
async def stalled_child(
    sandbox: TencentSandbox, tmp_path: Path, env: dict[str, str]
) -> AsyncIterator[Process]:
    """A backfill, one window at a time, stuck in a request its 60 s timeout has not ended.

    The twin answers 8 requests, then holds the 9th for a minute (longer than the test); the
    child is yielded once that 9th request has arrived. One window at a time, the requests come
    one after another, so the 9th to arrive is the 9th to draw a fault: the held one.
    """
    sandbox.faults = FaultPlan.script([None] * 8 + [FaultKind.SLOW], slow_seconds=60)
    stalled = asyncio.Event()

    async def note_the_stall(n: int, _: object) -> None:
        if n == 9:
            stalled.set()

    async with serve_gated(sandbox, note_the_stall) as server:
        one_at_a_time = "concurrency: {windows_per_source: 1}\nhttp: {timeout_seconds: 60}\n"
        config = tencent_config(tmp_path, server.url, SECRET_ID, rate=25, extra=one_at_a_time)
        child = await start([*BACKFILL, "--config", str(config)], env)
        try:
            async with asyncio.timeout(30):
                await stalled.wait()
            yield child
        finally:
            if child.returncode is None:
                child.kill()
                await child.communicate()


async def test_sigterm_during_a_stalled_request_stops_the_run_within_seconds_as_interrupted(
    pool: asyncpg.Pool, sandbox: TencentSandbox, tmp_path: Path, env: dict[str, str]
) -> None:
    async with stalled_child(sandbox, tmp_path, env) as child:
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
    key = f"tencent/tencent-main/{API}"
    async with pool.acquire() as conn:
        async with stalled_child(sandbox, tmp_path, env) as child:
            assert not await conn.fetchval(TRY_LOCK, key)  # the stalled child holds it
            child.send_signal(signal.SIGKILL)
            await child.wait()
        # Waits for the lock: the server drops a dead client's session, and its locks, as soon
        # as it sees the EOF.
        async with asyncio.timeout(STOPS_WITHIN):
            await conn.execute(
                "SELECT pg_advisory_lock(hashtextextended('pipeline:' || $1, 0))", key
            )
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended('pipeline:' || $1, 0))", key)


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
