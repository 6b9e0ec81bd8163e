"""What a window writes as it reads: new tasks, changes, re-reads, reads outside its scope.

Told through the loader's public entry points and what ends up in the database: the rows of
`tasks`, `task_history` and `deferred_reads`, the load's counts, and which stored rows a
window still open holds locked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest

from pipeline.db.loader import Loader, WindowLoad
from pipeline.model import SourceKey, Status, Task
from pipeline.periods import Period
from tests.hourly_tasks import DAY, T0, task

KEY = SourceKey("tencent", "acct", "DescribeRecordTask")
NEXT_DAY = Period(T0 + timedelta(days=1), T0 + timedelta(days=2))
SOON = T0 + timedelta(minutes=5)  # a re-read within the last_seen_at resolution


def stopped(n: int, **changes: object) -> Task:
    return task(n, status=Status.STOPPED, raw={"TaskId": f"task-{n}", "Stopped": 1}, **changes)


async def count(pool: asyncpg.Pool, table: str) -> int:
    return await pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names


async def status_of(pool: asyncpg.Pool, task_id: str) -> str:
    return await pool.fetchval("SELECT status FROM tasks WHERE task_id = $1", task_id)


async def locked(pool: asyncpg.Pool, task_id: str) -> bool:
    """Whether another transaction holds the stored task (asked without waiting)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM tasks WHERE task_id = $1 FOR UPDATE NOWAIT", task_id)
    except asyncpg.LockNotAvailableError:
        return True
    return False


@pytest.fixture
def flush_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write each page as it is added, as a window of thousands of tasks does."""
    monkeypatch.setattr("pipeline.db.loader.STAGE_BATCH", 1)


# --- re-reads of unchanged tasks hold nothing ---------------------------------------------


@pytest.mark.parametrize("scope", [None, DAY], ids=["whole source", "scoped"])
async def test_a_window_rereading_unchanged_tasks_holds_no_lock_on_them(
    pool: asyncpg.Pool, scope: Period | None
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1), task(2)], T0)
    async with loader.window(KEY, scope) as window:
        await window.add([task(1), task(2)], (), SOON)
        counts = await window.finish(scope, SOON)
        assert not await locked(pool, "task-1")
        assert not await locked(pool, "task-2")
    assert (counts.seen, counts.inserted, counts.changed) == (2, 0, 0)


async def test_an_unchanged_task_read_twice_in_a_window_holds_no_lock(pool: asyncpg.Pool) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    async with loader.window(KEY, DAY) as window:
        await window.add([task(1)], (), SOON)
        await window.add([task(1)], (), SOON)  # a rescan reads it again, still unchanged
        await window.finish(DAY, SOON)
        assert not await locked(pool, "task-1")


async def test_an_unchanged_task_read_outside_the_scope_holds_no_lock(pool: asyncpg.Pool) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    async with loader.window(KEY, NEXT_DAY) as window:
        await window.add([task(1)], (), SOON)  # the query reached back into the day before
        counts = await window.finish(NEXT_DAY, SOON)
        assert not await locked(pool, "task-1")
    assert (counts.inserted, counts.changed) == (0, 0)


async def test_an_unchanged_task_read_outside_the_scope_after_the_resolution_is_marked_seen(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    await loader.load(KEY, [task(1)], T0 + timedelta(hours=2), covers=NEXT_DAY)
    seen = await pool.fetchrow("SELECT first_seen_at, last_seen_at FROM tasks")
    assert (seen["first_seen_at"], seen["last_seen_at"]) == (T0, T0 + timedelta(hours=2))
    assert await count(pool, "task_history") == 0


# --- what a complete listing marks deleted --------------------------------------------------


async def test_a_complete_listing_that_changes_a_stored_task_does_not_mark_it_deleted(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1), task(2)], T0, covers=DAY)
    counts = await loader.load(KEY, [stopped(1), task(2)], SOON, covers=DAY)
    assert (counts.changed, counts.deleted) == (1, 0)
    assert await count(pool, "tasks_deleted_by_vendor") == 0
    assert await status_of(pool, "task-1") == "stopped"


# --- several reads of one task in a window: the latest wins ---------------------------------


async def test_a_new_task_read_again_outside_the_scope_in_one_batch_is_inserted_as_last_read(
    pool: asyncpg.Pool,
) -> None:
    moved = task(1, start_time=NEXT_DAY.start + timedelta(hours=1))
    async with Loader(pool).window(KEY, DAY) as window:
        await window.add([task(1)], (), T0)
        await window.add([moved], (), T0)
        counts = await window.finish(None, T0)
    assert (counts.inserted, counts.changed) == (1, 0)
    assert await pool.fetchval("SELECT start_time FROM tasks") == moved.start_time
    assert await count(pool, "task_history") == 0


@pytest.mark.usefixtures("flush_every_page")
async def test_a_task_outside_the_scope_changed_twice_in_a_window_keeps_its_latest_read(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(30)], T0)
    later = task(30, status=Status.STOPPED, raw={"TaskId": "task-30", "Stopped": 2})
    async with loader.window(KEY, DAY) as window:
        await window.add([stopped(30)], (), SOON)
        await window.add([later], (), SOON)
        counts = await window.finish(DAY, SOON)
    assert counts.changed == 1
    assert await pool.fetchval("SELECT raw ->> 'Stopped' FROM tasks") == "2"


@pytest.mark.usefixtures("flush_every_page")
async def test_a_changed_task_read_back_as_stored_keeps_that_read_when_a_new_one_was_stored_first(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    async with loader.window(KEY, DAY) as window:
        await window.add([stopped(1)], (), SOON)
        await loader.load(KEY, [task(2)], T0)  # meanwhile another window stores task 2
        await window.add([stopped(2)], (), SOON)  # new to the window, stored by the time it is
        await window.add([task(1)], (), SOON)  # read again, back as it was
        counts = await window.finish(DAY, SOON)
    assert counts.changed == 1  # task 2 only
    assert await status_of(pool, "task-1") == "finished"
    assert await status_of(pool, "task-2") == "stopped"


# --- a window's own tasks are never parked with its reads outside the scope -----------------

# Each writes a change to a task that is the window's own (its start lies in the window's
# scope, or the window inserted it) while the window reads the day.
OwnChange = Callable[[Loader, WindowLoad], Awaitable[None]]


async def a_stored_task_read_changed(loader: Loader, window: WindowLoad) -> None:
    await loader.load(KEY, [task(1)], T0)
    await window.add([stopped(1)], (), SOON)


async def a_stored_task_read_as_stored_then_changed(loader: Loader, window: WindowLoad) -> None:
    await loader.load(KEY, [task(1)], T0)
    await window.add([task(1)], (), SOON)
    await window.add([stopped(1)], (), SOON)


async def a_stored_task_starting_at_the_first_instant_of_the_scope(
    loader: Loader, window: WindowLoad
) -> None:
    await loader.load(KEY, [task(1, start_time=DAY.start)], T0)
    await window.add([stopped(1, start_time=DAY.start)], (), SOON)


async def a_new_task_another_window_stored_first(loader: Loader, window: WindowLoad) -> None:
    await window.add([task(2)], (), SOON)  # the window reads what its scope holds: no task 1
    await loader.load(KEY, [task(1)], T0)
    await window.add([stopped(1)], (), SOON)


async def a_task_it_inserted_read_again_moved_out_of_the_scope(
    loader: Loader, window: WindowLoad
) -> None:
    await window.add([task(1)], (), SOON)
    await window.add([task(2)], (), SOON)  # a second batch inserted after the first
    await window.add([stopped(1, start_time=NEXT_DAY.start + timedelta(hours=1))], (), SOON)


@pytest.mark.usefixtures("flush_every_page")
@pytest.mark.parametrize(
    "own_change",
    [
        a_stored_task_read_changed,
        a_stored_task_read_as_stored_then_changed,
        a_stored_task_starting_at_the_first_instant_of_the_scope,
        a_new_task_another_window_stored_first,
        a_task_it_inserted_read_again_moved_out_of_the_scope,
    ],
    ids=lambda f: f.__name__.replace("_", " "),
)
async def test_a_change_to_a_task_of_its_own_commits_with_the_window_while_others_are_parked(
    pool: asyncpg.Pool, own_change: OwnChange
) -> None:
    loader = Loader(pool)
    async with loader.window(KEY, NEXT_DAY) as owner:
        await owner.add([task(30)], (), T0)
        await owner.add([task(31)], (), T0)  # task 30 is written (and held) by now
        async with loader.window(KEY, DAY) as window:
            await own_change(loader, window)
            await window.add([stopped(30)], (), SOON)  # held by the owner: parked
            counts = await window.finish(None, SOON)
        assert counts.changed == 1
        assert await status_of(pool, "task-1") == "stopped"
        assert await pool.fetchval("SELECT array_agg(task_id) FROM deferred_reads") == ["task-30"]
        await owner.finish(None, T0)
