"""Every read is bounded: endless chains are cut, windows have a page cap and a deadline, a cut
window fails alone, and a lock held too long is a failure rather than a silent skip."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import SecretStr

from pipeline.chains import PAGES_WITHOUT_NEWS
from pipeline.config import ReadSettings, Settings
from pipeline.model import SourceKey
from pipeline.planning.sources import SyncRequest
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.status import show_status
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.zego.account import ZegoAccount
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.sandbox import ZegoSandbox
from tests.conftest import FAST_RATE, fast_settings, tencent_account
from tests.runs import backfill_all, run

API = "DescribeRecordTask"
DAY = 86_400
KEY = SourceKey("tencent", "tencent-main", API)


def bounded(settings: Settings, **reads: float) -> Settings:
    return settings.model_copy(update={"reads": ReadSettings(**reads)})


def window_of(moment: int):
    """A predicate for the windows whose query holds `moment`."""
    return lambda params: params["StartTime"] <= moment < params["EndTime"]


async def covered_starts(pool: asyncpg.Pool) -> list[datetime]:
    return [r["lo"] for r in await pool.fetch("SELECT lower(period) AS lo FROM coverage")]


async def test_a_token_chain_that_never_ends_is_cut_and_the_other_windows_load(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    endless = window_of(frozen_now - 40 * DAY)
    tencent.endless_tokens = endless
    settings = fast_settings(tencent_account(tencent_url))
    report = await run(pool, settings, backfill_all(frozen_now), frozen_now)
    source = report.sources[0]
    assert (report.outcome, report.exit_code, source.error_code) == ("failed", 1, "ChainCut")
    assert "brought no task not read before" in source.error_message
    cut = [r for r in tencent.requests.of(API) if endless(r.params)]
    windows = {r.params["StartTime"] for r in cut if "ScrollToken" not in r.params}
    assert len(cut) <= len(windows) * (PAGES_WITHOUT_NEWS + 2)
    assert source.windows_done == source.windows_planned - len(windows)
    assert len(await covered_starts(pool)) == source.windows_done
    recent = [t for t, task in tencent.record_tasks.items() if task["StartTime"] > frozen_now]
    stored = {r["task_id"] for r in await pool.fetch("SELECT task_id FROM tasks")}
    assert set(recent) <= stored


async def test_a_list_that_claims_endless_pages_is_cut_after_a_few_pages_of_nothing_new(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    sandbox = ZegoSandbox(
        credentials={1234567890: "s"},
        clock=lambda: frozen_now,
        rate_limits={"DescribeTasks": FAST_RATE},
    )
    sandbox.add_tasks(generate_zego_tasks(frozen_now, count=80, seed=3))
    sandbox.inflated_total = 100_000  # 2,000 pages claimed, two real ones
    async with sandbox.serve() as server:
        account = ZegoAccount(
            name="zego-main", vendor="zego", app_id=1234567890, server_secret=SecretStr("s"),
            endpoint=server.url, rate_limits={"DescribeTasks": FAST_RATE},
        )  # fmt: skip
        report = await run(pool, fast_settings(account), SyncRequest(), frozen_now)
    assert (report.outcome, report.sources[0].error_code) == ("failed", "ChainCut")
    assert len(sandbox.requests) < 200


async def test_a_window_of_more_pages_than_the_cap_fails_naming_the_setting(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    settings = bounded(fast_settings(tencent_account(tencent_url)), max_pages_per_window=2)
    report = await run(pool, settings, backfill_all(frozen_now), frozen_now)
    source = report.sources[0]
    assert (report.outcome, source.error_code) == ("failed", "ChainCut")
    assert "more than 2 pages (reads.max_pages_per_window)" in source.error_message
    assert max(len(r.params) for r in tencent.requests.of(API)) == 3  # a token was followed


async def test_a_window_past_its_deadline_fails_alone_while_the_others_load(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    tencent.faults = FaultPlan.script([None, None, FaultKind.SLOW], slow_seconds=30)
    settings = fast_settings(tencent_account(tencent_url), timeout=60)
    report = await run(
        pool, bounded(settings, window_deadline_seconds=3), backfill_all(frozen_now), frozen_now
    )
    source = report.sources[0]
    assert (report.outcome, source.error_code) == ("failed", "WindowDeadline")
    assert "(reads.window_deadline_seconds)" in source.error_message
    assert source.windows_done == source.windows_planned - 1
    assert len(await covered_starts(pool)) == source.windows_done


async def hold_lock(conn: asyncpg.Connection, since: timedelta) -> None:
    """Take the source's lock on `conn` as another process would, noted as taken `since` ago."""
    assert await conn.fetchval(
        "SELECT pg_try_advisory_lock(hashtextextended('pipeline:' || $1, 0))", str(KEY)
    )
    await conn.execute(
        "INSERT INTO source_holders"
        " VALUES ($1, $2, $3, NULL, pg_backend_pid(), now() - $4::interval)",
        KEY.vendor, KEY.account, KEY.api, since,
    )  # fmt: skip


async def test_a_source_held_briefly_by_another_process_is_skipped_and_the_run_succeeds(
    pool: asyncpg.Pool, tencent_url: str, frozen_now: int
) -> None:
    async with pool.acquire() as other:
        await hold_lock(other, timedelta(minutes=5))
        report = await run(
            pool, fast_settings(tencent_account(tencent_url)), SyncRequest(), frozen_now
        )
    assert (report.outcome, report.sources[0].outcome, report.exit_code) == (
        "succeeded",
        "skipped",
        0,
    )


async def test_a_source_held_past_the_limit_fails_the_run_and_status_names_it(
    pool: asyncpg.Pool, tencent_url: str, frozen_now: int
) -> None:
    settings = fast_settings(tencent_account(tencent_url))
    async with pool.acquire() as other:
        await hold_lock(other, timedelta(hours=2))
        report = await run(pool, settings, SyncRequest(), frozen_now)
    source = report.sources[0]
    assert (report.exit_code, source.outcome, source.error_code) == (1, "failed", "LockHeldTooLong")
    assert "reads.lock_held_max_seconds (3600 s)" in source.error_message
    out = io.StringIO()
    with redirect_stdout(out):
        code = await show_status(pool, settings, as_json=False, now=datetime.now(UTC))
    assert code == 1
    assert "LockHeldTooLong" in out.getvalue()
