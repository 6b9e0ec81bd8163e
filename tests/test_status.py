"""`pipeline status` shows gaps, stale sources and rejected records, and exits 1 on trouble."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pipeline.status import retention_risk, show_status
from pipeline.vendors.zego.tasks import RULES as ZEGO

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


async def a_run(pool: asyncpg.Pool, api: str, ended: datetime, vendor: str = "zego") -> None:
    run_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO sync_runs (run_id, command, started_at, ended_at, outcome)"
        " VALUES ($1, 'sync', $2, $2, 'succeeded')",
        run_id,
        ended,
    )
    await pool.execute(
        "INSERT INTO sync_run_sources (run_id, vendor, account, api, started_at, ended_at, outcome)"
        " VALUES ($1, $2, 'acct', $3, $4, $4, 'succeeded')",
        run_id,
        vendor,
        api,
        ended,
    )


@pytest.fixture
async def troubled(pool: asyncpg.Pool) -> asyncpg.Pool:
    """A ZEGO source with a gap and rejected records whose last success is 2.5 days old."""
    await a_run(pool, "DescribeTasks", NOW - timedelta(days=2, hours=12))
    await pool.execute(
        "INSERT INTO coverage_gaps (vendor, account, api, period, detected_at, reason)"
        " VALUES ('zego', 'acct', 'DescribeTasks', tstzrange($1, $2), $2, 'test')",
        NOW - timedelta(days=6),
        NOW - timedelta(days=5),
    )
    await pool.execute(
        "INSERT INTO rejected_records (vendor, account, api, reason, raw, rejected_at)"
        " VALUES ('zego', 'acct', 'DescribeTasks', 'Status: bad', '{}', $1)",
        NOW,
    )
    return pool


async def test_a_gap_a_stale_source_and_rejects_show_in_the_table_and_exit_1(
    troubled: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await show_status(troubled, None, as_json=False, now=NOW) == 1
    table = capsys.readouterr().out
    assert "[ATTENTION]" in table
    assert "gaps          [2026-11-15T12:00:00+00:00, 2026-11-16T12:00:00+00:00)" in table
    assert "rejected      1" in table
    assert "AT RISK       last success 2.5 days ago" in table


async def test_the_same_trouble_shows_in_the_json(
    troubled: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await show_status(troubled, None, as_json=True, now=NOW) == 1
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    assert source["healthy"] is False
    assert source["gaps"] == [
        {"start": "2026-11-15T12:00:00+00:00", "end": "2026-11-16T12:00:00+00:00"}
    ]
    assert source["rejected"] == 1 and "2.5 days" in source["at_risk"]


async def test_a_healthy_database_exits_0(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, "DescribeTasks", NOW - timedelta(hours=3))
    assert await show_status(pool, None, as_json=False, now=NOW) == 0
    assert "[ok]" in capsys.readouterr().out


def test_zego_data_is_at_risk_after_two_days_without_a_success() -> None:
    assert retention_risk(ZEGO, NOW - timedelta(hours=47), NOW) is None
    assert retention_risk(ZEGO, NOW - timedelta(hours=49), NOW) is not None


def test_a_source_without_retention_is_never_at_risk() -> None:
    assert retention_risk(None, None, NOW) is None
