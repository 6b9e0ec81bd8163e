"""What `pipeline status` prints, whole: the table an operator reads and the JSON a monitor
parses, for sources synced by different workers, a whole-account list, one a shard never
synced, and the recent runs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pipeline.config import AccountName, DatabaseConfig, ScheduleSettings
from pipeline.status import overdue, retention_risk, show_status
from pipeline.vendors.zego.tasks import RULES as ZEGO

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
RUN_IDS = [uuid.UUID(int=n) for n in range(1, 9)]


async def a_run(
    pool: asyncpg.Pool,
    run_id: uuid.UUID,
    ended: datetime,
    sources: list[tuple[str, str, str]],
    shard: tuple[int, int] | None = None,
    command: str = "sync",
) -> None:
    index, count = shard or (None, None)
    await pool.execute(
        "INSERT INTO sync_runs (run_id, command, started_at, ended_at, outcome, shard_index,"
        " shard_count) VALUES ($1, $2, $3, $3, 'succeeded', $4, $5)",
        run_id,
        command,
        ended,
        index,
        count,
    )
    for vendor, account, api in sources:
        await pool.execute(
            "INSERT INTO sync_run_sources (run_id, vendor, account, api, started_at, ended_at,"
            " outcome) VALUES ($1, $2, $3, $4, $5, $5, 'succeeded')",
            run_id,
            vendor,
            account,
            api,
            ended,
        )


async def covered(
    pool: asyncpg.Pool, source: tuple[str, str, str], start: datetime | None, end: datetime | None
) -> None:
    """A complete window of `source`; unbounded: a complete whole-account listing."""
    await pool.execute(
        "INSERT INTO coverage (vendor, account, api, period, fetched_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        *source,
        asyncpg.Range(start, end),
        NOW,
    )


ZEGO_SOURCE = ("zego", "zego-a", "DescribeTasks")
VOLC_SOURCE = ("volcengine", "volc-a", "ListPullRecordTask")
CONFIG = DatabaseConfig(
    accounts=(
        AccountName(name="zego-a", vendor="zego"),
        AccountName(name="volc-a", vendor="volcengine"),
        AccountName(name="zego-b", vendor="zego"),  # its shard never ran
    )
)


@pytest.fixture
async def round_of_two_shards(pool: asyncpg.Pool) -> None:
    """Shard 0/2 synced the ZEGO account an hour ago, shard 1/2 the Volcengine one two hours
    ago; an older unsharded backfill read both; nobody synced `zego-b`."""
    await a_run(pool, RUN_IDS[0], NOW - timedelta(days=1), [ZEGO_SOURCE], command="backfill")
    await a_run(pool, RUN_IDS[1], NOW - timedelta(hours=2), [VOLC_SOURCE], shard=(1, 2))
    await a_run(pool, RUN_IDS[2], NOW - timedelta(hours=1), [ZEGO_SOURCE], shard=(0, 2))
    await covered(pool, ZEGO_SOURCE, NOW - timedelta(days=3), NOW - timedelta(days=2))
    await covered(pool, ZEGO_SOURCE, NOW - timedelta(days=1), NOW)
    await covered(pool, VOLC_SOURCE, None, None)


TABLE = """\
volcengine / volc-a / ListPullRecordTask  [ok]
  last success  2026-11-21 10:00 UTC
  last sync     2026-11-21 10:00 UTC  by shard 1/2
  complete      the whole account
  gaps          none
  rejected      0
zego / zego-a / DescribeTasks  [ok]
  last success  2026-11-21 11:00 UTC
  last sync     2026-11-21 11:00 UTC  by shard 0/2
  complete      {zego_a_complete}
  gaps          none
  rejected      0
zego / zego-b / DescribeTasks  [ATTENTION]
  last success  never
  last sync     never
  complete      nothing yet
  gaps          none
  rejected      0
  AT RISK       no successful run yet: the vendor keeps these tasks for a limited time only
  OVERDUE       never synced by any worker: is a shard or schedule missing?

recent runs
  2026-11-21 11:00 UTC  sync      succeeded    00000000-0000-0000-0000-000000000003  shard 0/2
  2026-11-21 10:00 UTC  sync      succeeded    00000000-0000-0000-0000-000000000002  shard 1/2
  2026-11-20 12:00 UTC  backfill  succeeded    00000000-0000-0000-0000-000000000001  every source
""".format(
    zego_a_complete="[2026-11-18T12:00:00+00:00, 2026-11-19T12:00:00+00:00), "
    "[2026-11-20T12:00:00+00:00, 2026-11-21T12:00:00+00:00)"
)


@pytest.mark.usefixtures("round_of_two_shards")
async def test_the_table_shows_each_source_and_the_worker_that_synced_it(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await show_status(pool, CONFIG, as_json=False, now=NOW) == 1
    assert capsys.readouterr().out == TABLE


@pytest.mark.usefixtures("round_of_two_shards")
async def test_the_json_is_the_table_for_machines(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await show_status(pool, CONFIG, as_json=True, now=NOW) == 1
    printed = capsys.readouterr().out
    shown = json.loads(printed)
    assert printed == json.dumps(shown, indent=2) + "\n"  # indented for people too
    assert shown["generated_at"] == "2026-11-21T12:00:00+00:00"
    zego_a = next(s for s in shown["sources"] if s["account"] == "zego-a")
    assert zego_a["complete"] == [
        {"start": "2026-11-18T12:00:00+00:00", "end": "2026-11-19T12:00:00+00:00"},
        {"start": "2026-11-20T12:00:00+00:00", "end": "2026-11-21T12:00:00+00:00"},
    ]
    assert (zego_a["synced_by"], zego_a["last_sync"]) == ("shard 0/2", "2026-11-21T11:00:00+00:00")
    assert zego_a["healthy"] is True and zego_a["overdue"] is None
    zego_b = next(s for s in shown["sources"] if s["account"] == "zego-b")
    assert (zego_b["vendor"], zego_b["api"], zego_b["healthy"]) == ("zego", "DescribeTasks", False)
    assert [(r["command"], r["shard_index"], r["shard_count"]) for r in shown["runs"]] == [
        ("sync", 0, 2),
        ("sync", 1, 2),
        ("backfill", None, None),
    ]
    assert shown["runs"][0]["run_id"] == str(RUN_IDS[2])


async def test_status_lists_only_the_latest_five_runs(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    for n, run_id in enumerate(RUN_IDS):
        await a_run(pool, run_id, NOW - timedelta(minutes=10 * n), [ZEGO_SOURCE])
    await show_status(pool, None, as_json=True, now=NOW)
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run_id"] for r in runs] == [str(r) for r in RUN_IDS[:5]]


async def test_a_source_of_a_vendor_no_longer_known_is_still_shown(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RUN_IDS[0], NOW - timedelta(hours=1), [("gone", "old", "ListOld")])
    assert await show_status(pool, None, as_json=False, now=NOW) == 0
    assert "gone / old / ListOld  [ok]" in capsys.readouterr().out


async def test_every_gap_is_listed(pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    await a_run(pool, RUN_IDS[0], NOW - timedelta(hours=1), [ZEGO_SOURCE])
    for days in (6, 4):
        await pool.execute(
            "INSERT INTO coverage_gaps (vendor, account, api, period, detected_at, reason)"
            " VALUES ($1, $2, $3, tstzrange($4, $5), $5, 'fell out of reach')",
            *ZEGO_SOURCE,
            NOW - timedelta(days=days),
            NOW - timedelta(days=days - 1),
        )
    assert await show_status(pool, None, as_json=False, now=NOW) == 1
    assert (
        "  gaps          [2026-11-15T12:00:00+00:00, 2026-11-16T12:00:00+00:00), "
        "[2026-11-17T12:00:00+00:00, 2026-11-18T12:00:00+00:00)\n"
    ) in capsys.readouterr().out


async def test_a_lost_end_is_not_shown_among_the_unfetched_gaps(
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_run(pool, RUN_IDS[0], NOW - timedelta(hours=1), [ZEGO_SOURCE])
    await pool.execute(
        "INSERT INTO coverage_gaps (vendor, account, api, period, detected_at, reason, kind,"
        " task_id) VALUES ($1, $2, $3, tstzrange($4, $5), $5, 'last seen running',"
        " 'unfinished', 't-1')",
        *ZEGO_SOURCE,
        NOW - timedelta(days=5),
        NOW - timedelta(days=4),
    )
    await show_status(pool, None, as_json=False, now=NOW)
    table = capsys.readouterr().out
    assert "  gaps          none\n" in table
    assert "  lost end      last seen running\n" in table


# --- retention risk, in words ------------------------------------------------------------


def test_the_risk_says_when_the_tasks_fall_out_of_reach() -> None:
    last = NOW - timedelta(hours=50)
    deadline = (last + ZEGO.reach_back).strftime("%Y-%m-%d %H:%M UTC")
    assert retention_risk(ZEGO, last, NOW) == (
        "last success 2.1 days ago: tasks that started since then fall out of the vendor's "
        f"{ZEGO.reach_back.total_seconds() / 86_400:.1f} days reach from {deadline}; "
        "run a sync now"
    )


def test_the_risk_says_the_tasks_fell_out_of_reach_once_the_deadline_passed() -> None:
    at_deadline = retention_risk(ZEGO, NOW - ZEGO.reach_back, NOW)
    assert "since then fell out of the vendor's" in str(at_deadline)


def test_the_risk_starts_at_exactly_two_thirds_of_the_reach() -> None:
    two_thirds = ZEGO.reach_back * 2 / 3
    assert retention_risk(ZEGO, NOW - two_thirds, NOW) is not None
    assert retention_risk(ZEGO, NOW - two_thirds + timedelta(seconds=1), NOW) is None


def test_ages_under_two_days_are_in_hours_and_from_two_days_in_days() -> None:
    schedule = ScheduleSettings()
    assert str(overdue(schedule, NOW - timedelta(hours=47, minutes=54), NOW)).startswith(
        "no worker synced it for 47.9 hours; the schedule allows 3.0 hours "
        "(sync every 60 min, 2 missed): is a shard or schedule missing?"
    )
    assert "synced it for 2.0 days;" in str(overdue(schedule, NOW - timedelta(hours=48), NOW))
