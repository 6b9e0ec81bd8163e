"""`pipeline status`: per source its gaps, lost ends, rejected records, retention risk and last
failure; it exits 1 while a gap exists, data is at risk or a source's last run failed, and each
of those decides the exit status on its own (README, Commands and Monitor)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pipeline.config import AccountName, DatabaseConfig, ScheduleSettings
from pipeline.status import retention_risk, show_status
from pipeline.vendors.zego.tasks import RULES as ZEGO

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
API = "DescribeTasks"
RECENTLY = NOW - timedelta(hours=3)


async def a_run(
    pool: asyncpg.Pool,
    ended: datetime,
    outcome: str = "succeeded",
    error_code: str | None = None,
    *,
    command: str = "sync",
    shard: tuple[int, int] | None = None,
) -> None:
    """One run of the ZEGO source `acct` that ended at `ended` with `outcome`, by the worker
    of `shard` (index, count; None: an unsharded run)."""
    run_id = uuid.uuid4()
    index, count = shard or (None, None)
    await pool.execute(
        "INSERT INTO sync_runs (run_id, command, started_at, ended_at, outcome, shard_index,"
        " shard_count) VALUES ($1, $4, $2, $2, $3, $5, $6)",
        run_id,
        ended,
        outcome,
        command,
        index,
        count,
    )
    await pool.execute(
        "INSERT INTO sync_run_sources"
        " (run_id, vendor, account, api, started_at, ended_at, outcome, error_code, error_message)"
        " VALUES ($1, 'zego', 'acct', $2, $3, $3, $4, $5, $6)",
        run_id,
        API,
        ended,
        outcome,
        error_code,
        None if error_code is None else "the vendor said no",
    )


async def a_gap(pool: asyncpg.Pool, kind: str = "unfetched", task_id: str | None = None) -> None:
    """A gap of the source: start times never fetched, or one task whose end was lost."""
    await pool.execute(
        "INSERT INTO coverage_gaps"
        " (vendor, account, api, period, detected_at, reason, kind, task_id)"
        " VALUES ('zego', 'acct', $1, tstzrange($2, $3), $3, $4, $5, $6)",
        API,
        NOW - timedelta(days=6),
        NOW - timedelta(days=5),
        f"task {task_id} was last seen running" if task_id else "fell out of reach",
        kind,
        task_id,
    )


async def status_of(pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`status`'s exit status and table at NOW."""
    code = await show_status(pool, None, as_json=False, now=NOW)
    return code, capsys.readouterr().out


async def test_a_healthy_database_exits_0(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RECENTLY)
    code, table = await status_of(pool, capsys)
    assert code == 0
    assert "[ok]" in table


async def test_status_exits_1_while_a_gap_exists(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RECENTLY)
    await a_gap(pool)
    code, table = await status_of(pool, capsys)
    assert code == 1
    assert "gaps          [2026-11-15T12:00:00+00:00, 2026-11-16T12:00:00+00:00)" in table


async def test_status_exits_1_while_a_task_whose_end_was_lost_is_a_gap(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RECENTLY)
    await a_gap(pool, kind="unfinished", task_id="task-0042")
    code, table = await status_of(pool, capsys)
    assert code == 1
    assert "lost end      task task-0042 was last seen running" in table


async def test_status_exits_1_while_data_is_at_risk(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, NOW - timedelta(days=2, hours=12))  # ZEGO keeps 3 days
    code, table = await status_of(pool, capsys)
    assert code == 1
    assert "AT RISK       last success 2.5 days ago" in table


async def test_status_exits_1_while_a_sources_last_run_failed(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, NOW - timedelta(hours=2))
    await a_run(pool, NOW - timedelta(hours=1), "failed", "AuthFailure")
    code, table = await status_of(pool, capsys)
    assert code == 1
    assert "last failure  2026-11-21 11:00 UTC  AuthFailure: the vendor said no" in table


async def test_status_exits_0_once_a_success_follows_the_failed_run(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, NOW - timedelta(hours=2), "failed", "AuthFailure")
    await a_run(pool, NOW - timedelta(hours=1))
    code, _ = await status_of(pool, capsys)
    assert code == 0


async def test_status_shows_rejected_records_which_alone_do_not_exit_1(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RECENTLY)
    await pool.execute(
        "INSERT INTO rejected_records (vendor, account, api, reason, raw, rejected_at)"
        " VALUES ('zego', 'acct', $1, 'Status: bad', '{}', $2)",
        API,
        NOW,
    )
    code, table = await status_of(pool, capsys)
    assert code == 0
    assert "rejected      1" in table


async def test_status_shows_which_worker_last_synced_a_source(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, NOW - timedelta(hours=2), shard=(0, 2))
    await a_run(pool, NOW - timedelta(hours=1), shard=(1, 2))
    code, table = await status_of(pool, capsys)
    assert code == 0
    assert "last sync     2026-11-21 11:00 UTC  by shard 1/2" in table


async def test_a_source_no_worker_synced_within_the_schedule_is_overdue_and_exits_1(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default schedule: a sync every hour, two of them missed at most.
    await a_run(pool, NOW - timedelta(hours=3, minutes=30), shard=(1, 2))
    code, table = await status_of(pool, capsys)
    assert code == 1
    assert "by shard 1/2" in table
    assert "OVERDUE       no worker synced it for 3.5 hours; the schedule allows 3.0 hours" in table


async def test_the_schedule_in_the_config_sets_when_a_source_is_overdue(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, NOW - timedelta(hours=3, minutes=30))
    daily = DatabaseConfig(schedule=ScheduleSettings(sync_every_minutes=120, missed_runs_allowed=1))
    assert await show_status(pool, daily, as_json=False, now=NOW) == 0
    assert "OVERDUE" not in capsys.readouterr().out


async def test_a_backfill_is_not_a_sync_and_leaves_the_source_overdue(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RECENTLY, command="backfill")
    code, table = await status_of(pool, capsys)
    assert code == 1
    assert "last sync     never" in table
    assert "OVERDUE       never synced by any worker" in table


async def test_a_source_the_config_no_longer_names_is_not_overdue(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, NOW - timedelta(days=1))  # account `acct`, since taken out of the config
    config = DatabaseConfig(accounts=(AccountName(name="zego-new", vendor="zego"),))
    code = await show_status(pool, config, as_json=True, now=NOW)
    shown = {s["account"]: s for s in json.loads(capsys.readouterr().out)["sources"]}
    assert shown["acct"]["overdue"] is None  # nobody is meant to sync it any more
    assert "never synced" in shown["zego-new"]["overdue"]
    assert code == 1


async def a_gap_only(pool: asyncpg.Pool) -> None:
    await a_run(pool, RECENTLY)
    await a_gap(pool)


async def a_lost_end_only(pool: asyncpg.Pool) -> None:
    await a_run(pool, RECENTLY)
    await a_gap(pool, kind="unfinished", task_id="task-0042")


async def at_risk_only(pool: asyncpg.Pool) -> None:
    await a_run(pool, NOW - timedelta(days=2, hours=12))


async def a_failure_only(pool: asyncpg.Pool) -> None:
    await a_run(pool, NOW - timedelta(hours=2))
    await a_run(pool, NOW - timedelta(hours=1), "failed", "AuthFailure")


async def overdue_only(pool: asyncpg.Pool) -> None:
    await a_run(pool, NOW - timedelta(hours=4))


# Each condition set up alone, the field of `status --json` that shows it, and what it holds.
TROUBLE = {
    "gap": (
        a_gap_only,
        "gaps",
        {"start": "2026-11-15T12:00:00+00:00", "end": "2026-11-16T12:00:00+00:00"},
    ),
    "lost end": (a_lost_end_only, "unfinished", "task task-0042 was last seen running"),
    "at risk": (at_risk_only, "at_risk", "last success 2.5 days ago"),
    "last run failed": (a_failure_only, "last_error", "AuthFailure: the vendor said no"),
    "overdue": (overdue_only, "overdue", "no worker synced it for 4.0 hours"),
}


@pytest.mark.parametrize("condition", TROUBLE, ids=list(TROUBLE))
async def test_status_json_shows_each_condition_alone_as_unhealthy_and_exits_1(
    condition: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    setup, field, shown = TROUBLE[condition]
    await setup(pool)
    assert await show_status(pool, None, as_json=True, now=NOW) == 1
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    assert source["healthy"] is False
    assert shown in source[field]


def test_zego_data_is_at_risk_after_two_days_without_a_success() -> None:
    assert retention_risk(ZEGO, NOW - timedelta(hours=47), NOW) is None
    assert retention_risk(ZEGO, NOW - timedelta(hours=49), NOW) is not None


def test_a_source_without_retention_is_never_at_risk() -> None:
    assert retention_risk(None, None, NOW) is None
