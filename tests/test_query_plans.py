"""The loader's statements keep their plans right after a large load, before any statistics.

Without statistics the planner guesses that a source has a row or two, and would read a
window's scope, or find the tasks to mark deleted, by walking the source's every task through
the primary key. The statements are written so that it cannot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from pipeline.db.sqlfiles import query

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SOURCE = ("tencent", "acct", "DescribeRecordTask")
FILL = """
INSERT INTO tasks (vendor, account, api, task_id, kind, status, start_time, end_time, raw,
                   first_seen_at, last_seen_at, content_hash)
SELECT $1, $2, $3, 'task-' || n, 'record', 'finished', $4::timestamptz + n * interval '5 minutes',
       $4::timestamptz + n * interval '5 minutes' + interval '1 hour', '{}', $4, $4, n
FROM generate_series(1, 20000) AS n
"""


async def plan(pool: asyncpg.Pool, statement: str, *args: object) -> str:
    await pool.execute(FILL, *SOURCE, T0)
    rows = await pool.fetch(f"EXPLAIN {statement}", *args)
    return "\n".join(row[0] for row in rows)


async def test_a_windows_scope_is_read_through_the_start_time_index(pool: asyncpg.Pool) -> None:
    text = await plan(pool, query("stored_hashes_between"), *SOURCE, T0, T0, T0 + timedelta(days=1))
    assert "tasks_start_time_idx" in text
    assert "tasks_pkey" not in text


async def test_tasks_to_mark_deleted_are_found_by_key_and_updated_by_row_address(
    pool: asyncpg.Pool,
) -> None:
    text = await plan(
        pool, query("mark_unlisted"), *SOURCE, T0, T0 + timedelta(days=1), T0, None, ["task-7"]
    )
    assert "Tid Scan on tasks" in text
    assert "Index Cond: ((vendor = " in text and "(task_id = unread.task_id)" in text
