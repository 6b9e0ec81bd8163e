"""The loader: one merge per window, history only for real changes, all or nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg
import pytest

from pipeline.db.loader import Loader
from pipeline.model import LoadCounts, Rejection, SourceKey, Status, Task
from pipeline.periods import Period
from tests.hourly_tasks import DAY, T0, task

KEY = SourceKey("tencent", "acct", "DescribeRecordTask")
NEXT_DAY = Period(T0 + timedelta(days=1), T0 + timedelta(days=2))


async def count(pool: asyncpg.Pool, table: str) -> int:
    return await pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names


async def test_first_load_inserts_every_task_without_history(pool: asyncpg.Pool) -> None:
    counts = await Loader(pool).load(KEY, [task(n) for n in range(5)], T0)
    assert (counts.seen, counts.inserted, counts.changed) == (5, 5, 0)
    assert await count(pool, "tasks") == 5
    assert await count(pool, "task_history") == 0


async def test_identical_reload_rewrites_nothing(pool: asyncpg.Pool) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(n) for n in range(5)], T0)
    before = await pool.fetch("SELECT task_id, xmin::text, last_seen_at FROM tasks ORDER BY 1")
    counts = await loader.load(KEY, [task(n) for n in range(5)], T0 + timedelta(minutes=5))
    after = await pool.fetch("SELECT task_id, xmin::text, last_seen_at FROM tasks ORDER BY 1")
    assert (counts.inserted, counts.changed) == (0, 0)
    assert before == after
    assert await count(pool, "task_history") == 0


async def test_a_changed_task_gets_one_history_row_naming_the_change(pool: asyncpg.Pool) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    stopped = task(1, status=Status.STOPPED, raw={"TaskId": "task-1", "Stopped": 1234})
    counts = await loader.load(KEY, [stopped], T0 + timedelta(minutes=1))
    assert counts.changed == 1
    row = await pool.fetchrow("SELECT old_status, new_status, changes::text FROM task_history")
    assert (row["old_status"], row["new_status"]) == ("finished", "stopped")
    assert '"raw.Stopped": [0, 1234]' in row["changes"]
    assert await pool.fetchval("SELECT status FROM tasks WHERE task_id = 'task-1'") == "stopped"


async def test_unchanged_task_is_marked_seen_after_the_resolution(pool: asyncpg.Pool) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    await loader.load(KEY, [task(1)], T0 + timedelta(hours=2))
    seen = await pool.fetchrow("SELECT first_seen_at, last_seen_at FROM tasks")
    assert seen["first_seen_at"] == T0
    assert seen["last_seen_at"] == T0 + timedelta(hours=2)
    assert await count(pool, "task_history") == 0


@pytest.mark.parametrize("scope", [None, DAY], ids=["whole source", "scoped"])
async def test_a_task_twice_in_one_batch_is_loaded_once_with_its_latest_state(
    pool: asyncpg.Pool, scope: Period | None
) -> None:
    async with Loader(pool).window(KEY, scope) as window:
        await window.add([task(1)], (), T0)
        await window.add([task(1, status=Status.STOPPED)], (), T0)
        counts = await window.finish(None, T0)
    assert counts.inserted == 1
    assert await pool.fetchval("SELECT status FROM tasks") == "stopped"


async def test_a_failed_window_leaves_no_tasks_and_no_coverage(pool: asyncpg.Pool) -> None:
    covers = Period(T0, T0 + timedelta(days=1))
    with pytest.raises(RuntimeError):
        async with Loader(pool).window(KEY) as window:
            await window.add([task(n) for n in range(3)], (), T0)
            await window.finish(covers, T0)
            raise RuntimeError("connection lost before commit")
    assert await count(pool, "tasks") == 0
    assert await count(pool, "coverage") == 0


async def test_window_coverage_is_recorded_with_its_tasks(pool: asyncpg.Pool) -> None:
    covers = Period(T0, T0 + timedelta(days=1))
    await Loader(pool).load(KEY, [task(1)], T0, covers=covers)
    row = await pool.fetchrow(
        "SELECT lower(period) AS lo, upper(period) AS hi, fetched_at FROM coverage"
    )
    assert (row["lo"], row["hi"], row["fetched_at"]) == (covers.start, covers.end, T0)


async def test_rejected_records_are_kept_with_their_payload(pool: asyncpg.Pool) -> None:
    async with Loader(pool).window(KEY) as window:
        await window.add([task(1)], [Rejection("StartTime: missing", {"TaskId": "bad"}, "bad")], T0)
        counts = await window.finish(None, T0)
    assert counts.rejected == 1
    row = await pool.fetchrow("SELECT task_id, reason, raw::text FROM rejected_records")
    assert (row["task_id"], row["reason"], row["raw"]) == (
        "bad",
        "StartTime: missing",
        '{"TaskId": "bad"}',
    )
    assert await count(pool, "tasks") == 1


async def test_the_latest_read_wins_even_when_it_matches_what_is_stored(pool: asyncpg.Pool) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    async with loader.window(KEY) as window:
        await window.add([task(1, status=Status.STOPPED)], (), T0)
        await window.add([task(1)], (), T0)  # read again, back as it was
        counts = await window.finish(None, T0)
    assert counts.changed == 0
    assert await pool.fetchval("SELECT status FROM tasks") == "finished"


async def test_an_unchanged_reload_leaves_every_row_untouched_and_marks_none_deleted(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    covers = Period(T0, T0 + timedelta(days=1))
    await loader.load(KEY, [task(n) for n in range(10)], T0, covers=covers)
    before = await pool.fetch("SELECT task_id, xmin::text FROM tasks ORDER BY 1")
    counts = await loader.load(KEY, [task(n) for n in range(10)], T0, covers=covers)
    assert (counts.seen, counts.inserted, counts.changed, counts.deleted) == (10, 0, 0, 0)
    assert await pool.fetch("SELECT task_id, xmin::text FROM tasks ORDER BY 1") == before
    assert (
        await pool.fetchval("SELECT count(*) FROM tasks WHERE vendor_deleted_at IS NOT NULL") == 0
    )


@pytest.fixture
def flush_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage each page as it is added, as a window of thousands of tasks does."""
    monkeypatch.setattr("pipeline.db.loader.STAGE_BATCH", 1)


@pytest.mark.usefixtures("flush_every_page")
@pytest.mark.parametrize("scope", [None, DAY], ids=["whole source", "scoped"])
async def test_a_window_inserts_new_tasks_as_it_reads_and_records_a_later_change(
    pool: asyncpg.Pool, scope: Period | None
) -> None:
    async with Loader(pool).window(KEY, scope) as window:
        await window.add([task(1)], (), T0)
        await window.add([task(2)], (), T0)  # the first batch is in tasks by now
        assert await count(pool, "tasks") == 0  # not visible before the window commits
        await window.add([task(1, status=Status.STOPPED)], (), T0)
        counts = await window.finish(None, T0)
    assert (counts.inserted, counts.changed) == (2, 1)
    assert await pool.fetchval("SELECT status FROM tasks WHERE task_id = 'task-1'") == "stopped"


@pytest.mark.usefixtures("flush_every_page")
@pytest.mark.parametrize("scope", [None, DAY], ids=["whole source", "scoped"])
async def test_a_new_task_another_window_stored_first_is_merged_with_its_change(
    pool: asyncpg.Pool, scope: Period | None
) -> None:
    loader = Loader(pool)
    async with loader.window(KEY, scope) as later:
        await later.add([task(2)], (), T0)  # reads what the scope holds: nothing yet
        await loader.load(KEY, [task(1)], T0)  # meanwhile another window stores task 1
        await later.add([task(1, status=Status.STOPPED)], (), T0 + timedelta(minutes=1))
        counts = await later.finish(None, T0 + timedelta(minutes=1))
    assert (counts.inserted, counts.changed) == (1, 1)
    assert await pool.fetchval("SELECT status FROM tasks WHERE task_id = 'task-1'") == "stopped"
    history = await pool.fetchrow("SELECT old_status, new_status FROM task_history")
    assert (history["old_status"], history["new_status"]) == ("finished", "stopped")


async def test_a_stored_task_the_listing_missed_is_marked_deleted_only_inside_its_scope(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    day = Period(T0, T0 + timedelta(days=1))
    await loader.load(KEY, [task(n) for n in (1, 2, 30)], T0, covers=day)  # task 30: next day
    counts = await loader.load(KEY, [task(1)], T0 + timedelta(minutes=5), covers=day)
    deleted = await pool.fetch("SELECT task_id FROM tasks WHERE vendor_deleted_at IS NOT NULL")
    assert counts.deleted == 1
    assert [r["task_id"] for r in deleted] == ["task-2"]


@pytest.mark.parametrize("scope", [None, DAY], ids=["whole source", "scoped"])
async def test_a_complete_listing_that_returns_nothing_marks_the_stored_tasks_deleted(
    pool: asyncpg.Pool, scope: Period | None
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1), task(2)], T0, covers=scope)
    async with loader.window(KEY, scope) as window:
        counts = await window.finish(scope, T0, whole_account=scope is None)
    assert counts.deleted == 2
    assert await count(pool, "tasks_deleted_by_vendor") == 2


async def test_a_stored_task_read_with_a_start_outside_the_scope_is_compared_and_merged(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    moved = task(1, start_time=T0 + timedelta(days=3), status=Status.STOPPED)
    counts = await loader.load(KEY, [moved], T0, covers=Period(T0, T0 + timedelta(days=1)))
    assert (counts.inserted, counts.changed) == (0, 1)
    assert await pool.fetchval("SELECT start_time FROM tasks") == T0 + timedelta(days=3)


@pytest.mark.usefixtures("flush_every_page")
async def test_a_stored_task_that_changes_between_two_reads_of_a_window_keeps_the_latest(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    await loader.load(KEY, [task(1)], T0)
    async with loader.window(KEY) as window:
        await window.add([task(1)], (), T0)  # as stored
        await window.add([task(1, status=Status.STOPPED)], (), T0)  # the rescan sees a change
        counts = await window.finish(None, T0)
    assert counts.changed == 1
    assert await pool.fetchval("SELECT status FROM tasks") == "stopped"


async def test_an_integer_beyond_64_bits_in_a_record_is_stored_exactly(pool: asyncpg.Pool) -> None:
    big = 2**70 + 1
    loader = Loader(pool)
    await loader.load(KEY, [task(1, raw={"TaskId": "task-1", "Sequence": big})], T0)
    counts = await loader.load(KEY, [task(1, raw={"TaskId": "task-1", "Sequence": big})], T0)
    assert await pool.fetchval("SELECT raw ->> 'Sequence' FROM tasks") == str(big)
    assert counts.changed == 0


@pytest.mark.usefixtures("flush_every_page")
async def test_a_window_failing_while_a_batch_is_written_leaves_nothing_behind(
    pool: asyncpg.Pool,
) -> None:
    with pytest.raises(RuntimeError):
        async with Loader(pool).window(KEY) as window:
            await window.add([task(n) for n in range(3)], (), T0)  # its write is under way
            raise RuntimeError("the listing failed")
    assert await count(pool, "tasks") == 0
    await Loader(pool).load(KEY, [task(1)], T0)  # the connection went back to the pool sound
    assert await count(pool, "tasks") == 1


@pytest.mark.usefixtures("flush_every_page")
async def test_overlapping_windows_reading_the_same_new_tasks_in_opposite_orders_both_commit(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    shared = [task(n) for n in range(1, 9)]
    both_read = asyncio.Barrier(2)

    async def window(scope: Period, tasks: list[Task]) -> LoadCounts:
        async with loader.window(KEY, scope) as load:
            for one in tasks:
                await load.add([one], (), T0)
            await both_read.wait()
            return await load.finish(scope, T0)

    first, second = await asyncio.gather(
        window(Period(T0, T0 + timedelta(hours=5)), shared),
        window(Period(T0 + timedelta(hours=5), T0 + timedelta(days=1)), shared[::-1]),
    )
    parked = await loader.merge_parked(KEY)
    assert first.inserted + second.inserted + parked.inserted == len(shared)
    assert await count(pool, "tasks") == len(shared)
    assert await count(pool, "task_history") == 0


async def read_the_day(loader: Loader, tasks: list[Task], seen_at: datetime) -> LoadCounts:
    """A window of the day whose query reaches into the next day (as Tencent's do)."""
    async with loader.window(KEY, DAY) as load:
        await load.add(tasks, (), seen_at)
        return await load.finish(DAY, seen_at)


@pytest.mark.usefixtures("flush_every_page")
async def test_a_read_outside_the_scope_that_another_window_holds_is_parked_and_merged_later(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    async with loader.window(KEY, NEXT_DAY) as owner:
        await owner.add([task(30)], (), T0)
        await owner.add([task(31)], (), T0)  # task 30 is written (and held) by now
        stopped = task(30, status=Status.STOPPED)
        counts = await read_the_day(loader, [task(1), stopped], T0 + timedelta(hours=1))
        assert (counts.inserted, counts.changed) == (1, 0)  # committed without waiting
        await owner.finish(NEXT_DAY, T0)
    merged = await loader.merge_parked(KEY)
    assert (merged.inserted, merged.changed) == (0, 1)
    assert await pool.fetchval("SELECT status FROM tasks WHERE task_id = 'task-30'") == "stopped"
    assert await count(pool, "task_history") == 1
    assert await count(pool, "deferred_reads") == 0


@pytest.mark.usefixtures("flush_every_page")
async def test_a_parked_read_older_than_the_stored_task_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    loader = Loader(pool)
    async with loader.window(KEY, NEXT_DAY) as owner:
        await owner.add([task(30, status=Status.STOPPED)], (), T0 + timedelta(hours=2))
        await owner.add([task(31)], (), T0 + timedelta(hours=2))
        await read_the_day(loader, [task(30)], T0 + timedelta(hours=1))  # read before the stop
        await owner.finish(NEXT_DAY, T0 + timedelta(hours=2))
    merged = await loader.merge_parked(KEY)
    assert (merged.inserted, merged.changed) == (0, 0)
    assert await pool.fetchval("SELECT status FROM tasks WHERE task_id = 'task-30'") == "stopped"
    assert await count(pool, "task_history") == 0
