"""The analyst views answer their questions on a small data set whose answers are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

DAY = datetime(2026, 1, 10, tzinfo=UTC)
INSERT = """
INSERT INTO tasks (vendor, account, api, task_id, kind, stream, room_id, status, start_time,
                   end_time, raw, first_seen_at, last_seen_at, vendor_deleted_at)
VALUES ($1, 'acct', $2, $3, 'record', $4, $5, $6, $7, $8, $9::jsonb, $7, $7, $10)
"""


async def add(
    pool: asyncpg.Pool,
    task_id: str,
    status: str,
    start: datetime,
    end: datetime | None,
    *,
    vendor: str = "tencent",
    stream: str | None = "s1",
    room: str | None = None,
    raw: dict | None = None,
    deleted: datetime | None = None,
) -> None:
    api = {"tencent": "DescribeRecordTask", "zego": "DescribeTasks"}[vendor]
    await pool.execute(
        INSERT,
        vendor,
        api,
        task_id,
        stream,
        room,
        status,
        start,
        end,
        json.dumps(raw or {}),
        deleted,
    )


@pytest.fixture
async def tasks(pool: asyncpg.Pool) -> asyncpg.Pool:
    now = datetime.now(UTC)
    await add(
        pool, "night", "finished", DAY + timedelta(hours=23), DAY + timedelta(hours=25, minutes=30)
    )
    await add(
        pool,
        "stopped",
        "stopped",
        DAY + timedelta(hours=10),
        DAY + timedelta(hours=12),
        raw={"Stopped": int((DAY + timedelta(hours=11)).timestamp())},
    )
    await add(
        pool,
        "zego",
        "finished",
        DAY + timedelta(hours=9),
        None,
        vendor="zego",
        stream=None,
        room="r9",
    )
    await add(pool, "live", "running", now - timedelta(hours=1), now + timedelta(hours=1))
    await add(pool, "late", "scheduled", now - timedelta(minutes=5), now + timedelta(hours=2))
    await add(pool, "halted", "stopped", now - timedelta(hours=1), now + timedelta(hours=1))
    await add(
        pool, "gone", "running", now - timedelta(hours=1), now + timedelta(hours=1), deleted=now
    )
    return pool


async def test_tasks_per_day_counts_by_vendor_account_and_status(tasks: asyncpg.Pool) -> None:
    rows = await tasks.fetch(
        "SELECT vendor, status, tasks FROM tasks_per_day WHERE day = $1 ORDER BY 1, 2", DAY.date()
    )
    assert [tuple(r) for r in rows] == [
        ("tencent", "finished", 1),
        ("tencent", "stopped", 1),
        ("zego", "finished", 1),
    ]


async def test_recording_hours_split_at_midnight_and_stop_at_the_stop_time(
    tasks: asyncpg.Pool,
) -> None:
    rows = await tasks.fetch(
        "SELECT day, stream, hours FROM recording_hours_per_stream_day WHERE day < $1 ORDER BY day",
        (DAY + timedelta(days=5)).date(),
    )
    assert [(r["day"], r["stream"], float(r["hours"])) for r in rows] == [
        (DAY.date(), "s1", 2.0),  # 10:00-11:00 (stopped early) and 23:00-24:00
        ((DAY + timedelta(days=1)).date(), "s1", 1.5),
    ]


async def test_tasks_running_now_leaves_out_stopped_deleted_and_past_tasks(
    tasks: asyncpg.Pool,
) -> None:
    rows = await tasks.fetch("SELECT task_id FROM tasks_running_now ORDER BY task_id")
    assert [r["task_id"] for r in rows] == ["late", "live"]


async def test_tasks_deleted_by_vendor_lists_only_those(tasks: asyncpg.Pool) -> None:
    rows = await tasks.fetch("SELECT task_id FROM tasks_deleted_by_vendor")
    assert [r["task_id"] for r in rows] == ["gone"]


async def test_source_coverage_joins_complete_periods_and_gaps(pool: asyncpg.Pool) -> None:
    for lo, hi in ((0, 2), (2, 3), (5, 6)):
        await pool.execute(
            "INSERT INTO coverage (vendor, account, api, period, fetched_at)"
            " VALUES ('zego', 'a', 'DescribeTasks', tstzrange($1, $2), $2)",
            DAY + timedelta(days=lo),
            DAY + timedelta(days=hi),
        )
    await pool.execute(
        "INSERT INTO coverage_gaps (vendor, account, api, period, detected_at, reason)"
        " VALUES ('zego', 'a', 'DescribeTasks', tstzrange($1, $2), $2, 'test')",
        DAY + timedelta(days=3),
        DAY + timedelta(days=5),
    )
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM unnest(complete)) AS n, upper(complete) AS hi, gap_count,"
        " lower(gaps) AS gap_from FROM source_coverage"
    )
    assert (row["n"], row["hi"], row["gap_count"]) == (2, DAY + timedelta(days=6), 1)
    assert row["gap_from"] == DAY + timedelta(days=3)
