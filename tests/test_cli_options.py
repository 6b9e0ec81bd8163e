"""Each option and exit status of the README's "Commands", run through the CLI against a twin.

`sync` and `backfill` narrowed by `--account` among several accounts and by `--api`, `backfill`'s
`--until` and `--refetch`, what it skips and clamps, the atomic `--metrics-file`, `demo --faults`,
and the exit statuses those runs end with.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from pipeline.cli import parse_when, run_cli
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests import two_accounts
from tests.two_accounts import IDS, RECORD, RELAY


@pytest.fixture
def twin() -> TencentSandbox:
    return two_accounts.twin()


@pytest.fixture
async def twin_url(twin: TencentSandbox) -> AsyncIterator[str]:
    async with twin.serve() as server:
        yield server.url


@pytest.fixture
def config(tmp_path: Path, twin_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return two_accounts.config(tmp_path, twin_url, db_url, monkeypatch)


def day(days: int) -> str:
    """The date `days` from today (UTC), as DATE."""
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def starts_of_windows(sandbox: TencentSandbox) -> list[int]:
    """The window each record-task request opened (pages within a window excluded)."""
    return [
        r.params["StartTime"] for r in sandbox.requests.of(RECORD) if "ScrollToken" not in r.params
    ]


async def sources_run(pool: asyncpg.Pool) -> set[tuple[str, str]]:
    rows = await pool.fetch("SELECT account, api FROM sync_run_sources")
    return {(r["account"], r["api"]) for r in rows}


# --- --account and --api narrow a run ------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["sync"], ["backfill", "--since", day(-3)]], ids=["sync", "backfill"]
)
async def test_account_runs_only_the_named_account_among_several(
    command: list[str], config: str, twin: TencentSandbox, pool: asyncpg.Pool
) -> None:
    argv = [*command, "--config", config, "--account", "tencent-second", "--quiet"]
    assert await run_cli(argv) == 0
    assert {r.account for r in twin.requests} == {IDS["tencent-second"]}
    assert await sources_run(pool) == {("tencent-second", RECORD), ("tencent-second", RELAY)}
    accounts = await pool.fetch("SELECT DISTINCT account FROM tasks")
    assert [r["account"] for r in accounts] == ["tencent-second"]


async def test_backfill_api_fetches_only_that_api(
    config: str, twin: TencentSandbox, pool: asyncpg.Pool
) -> None:
    argv = ["backfill", "--since", day(-3), "--config", config, "--api", RELAY, "--quiet"]
    assert await run_cli(argv) == 0
    assert {r.action for r in twin.requests} == {RELAY}
    assert await sources_run(pool) == {("tencent-main", RELAY), ("tencent-second", RELAY)}


async def test_backfill_api_that_no_selected_account_has_exits_2_before_any_request(
    config: str, twin: TencentSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["backfill", "--since", day(-3), "--config", config, "--api", "ListPullRecordTask"]
    assert await run_cli(argv) == 2
    assert "--api ListPullRecordTask" in capsys.readouterr().err
    assert len(twin.requests) == 0


# --- backfill: --until, what is complete, --refetch, clamps ---------------------------------


async def test_backfill_until_covers_start_times_from_since_to_until_and_no_further(
    config: str, twin: TencentSandbox, pool: asyncpg.Pool
) -> None:
    since, until = parse_when(day(-10)), parse_when(day(-5))
    argv = ["backfill", "--since", day(-10), "--until", day(-5), "--config", config]
    assert await run_cli([*argv, "--account", "tencent-main", "--api", RECORD, "--quiet"]) == 0
    covered = await pool.fetchrow("SELECT min(lower(period)), max(upper(period)) FROM coverage")
    assert tuple(covered) == (since, until)
    wanted = {
        t["TaskId"]
        for t in twin.record_tasks.values()
        if since.timestamp() <= t["StartTime"] < until.timestamp()
    }
    stored = {r["task_id"] for r in await pool.fetch("SELECT task_id FROM tasks")}
    assert wanted and wanted <= stored


async def test_backfill_until_not_after_since_exits_2_before_any_request(
    config: str, twin: TencentSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["backfill", "--since", day(-5), "--until", day(-5), "--config", config]
    assert await run_cli(argv) == 2
    assert "is not after --since" in capsys.readouterr().err
    assert len(twin.requests) == 0


BACKFILL_A_WEEK = ["backfill", "--since", day(-10), "--until", day(-3), "--api", RECORD]


async def test_a_backfill_skips_what_is_already_complete(config: str, twin: TencentSandbox) -> None:
    argv = [*BACKFILL_A_WEEK, "--config", config, "--account", "tencent-main", "--quiet"]
    assert await run_cli(argv) == 0
    assert starts_of_windows(twin)
    before = len(twin.requests)
    assert await run_cli(argv) == 0
    assert len(twin.requests) == before


async def test_backfill_refetch_fetches_again_what_is_complete(
    config: str, twin: TencentSandbox
) -> None:
    argv = [*BACKFILL_A_WEEK, "--config", config, "--account", "tencent-main", "--quiet"]
    assert await run_cli(argv) == 0
    first = starts_of_windows(twin)
    assert await run_cli([*argv, "--refetch"]) == 0
    assert starts_of_windows(twin) == first + first


async def test_backfill_reports_what_the_vendor_can_no_longer_serve_as_clamped(
    config: str, twin: TencentSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["backfill", "--since", day(-100), "--until", day(-80), "--api", RECORD]
    assert await run_cli([*argv, "--config", config, "--account", "tencent-main", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"tencent/tencent-main/{RECORD}: clamped: tasks starting in [{day(-100)}" in err
    assert "are beyond the vendor's reach" in err


def test_a_date_is_utc_midnight_or_an_iso_timestamp_with_an_offset() -> None:
    assert parse_when("2026-09-01") == datetime(2026, 9, 1, tzinfo=UTC)
    assert parse_when("2026-09-01T08:30:00+08:00") == datetime(2026, 9, 1, 0, 30, tzinfo=UTC)


# --- exit statuses ---------------------------------------------------------------------------


async def test_exit_1_when_a_source_fails_while_the_others_still_load_and_commit(
    config: str,
    twin: TencentSandbox,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(two_accounts.key_variable("tencent-second"), "wrong-key-0123456789abcdef")
    assert await run_cli(["sync", "--config", config, "--quiet"]) == 1
    assert "tencent/tencent-second/DescribeRecordTask failed" in capsys.readouterr().err
    stored = await pool.fetch("SELECT account, task_id FROM tasks")
    assert {r["account"] for r in stored} == {"tencent-main"}
    assert sorted(r["task_id"] for r in stored) == sorted(twin.record_tasks)
    covered = await pool.fetch("SELECT DISTINCT account FROM coverage")
    assert [r["account"] for r in covered] == ["tencent-main"]


# --- --metrics-file --------------------------------------------------------------------------


async def test_the_metrics_file_is_replaced_whole_never_written_in_place(
    config: str, tmp_path: Path
) -> None:
    metrics = tmp_path / "textfile" / "pipeline.prom"
    metrics.parent.mkdir()
    metrics.write_text("# the last run's figures\n")
    argv = ["sync", "--config", config, "--quiet", "--metrics-file", str(metrics)]
    with metrics.open() as before:  # a reader of the old file while the run writes the new one
        assert await run_cli(argv) == 0
        assert before.read() == "# the last run's figures\n"
        assert metrics.stat().st_ino != os.fstat(before.fileno()).st_ino
    assert 'pipeline_sync_run_succeeded{shard=""} 1.0' in metrics.read_text()
    assert [p.name for p in metrics.parent.iterdir()] == ["pipeline.prom"]


# --- demo --faults ---------------------------------------------------------------------------


async def test_demo_faults_makes_answers_fail_and_the_demo_rides_them_out(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)  # not the embedded server
    argv = ["demo", "--faults", "0.2", "--days", "2", "--per-day", "5", "--quiet"]
    assert await run_cli(argv) == 0
    out = capsys.readouterr().out
    assert "20% of their answers faulty" in out
    faulty = re.search(r"(\d+) requests to the sandboxes, (\d+) refused or faulty", out)
    assert faulty is not None and int(faulty[2]) > 0
    assert out.rstrip().endswith(": succeeded")


def test_demo_faults_beyond_0_9_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        asyncio.run(run_cli(["demo", "--faults", "0.95"]))
    assert exit_.value.code == 2
    assert "0.95 is not between 0 and 0.9" in capsys.readouterr().err
