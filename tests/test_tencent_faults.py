"""Transient faults are ridden out with nothing lost; permanent ones fail only their source."""

from __future__ import annotations

import itertools

import asyncpg

from pipeline.config import ConcurrencySettings
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY, fast_settings, tencent_account
from tests.runs import backfill_all, reachable, run, stored_ids

TRANSIENT = [
    FaultKind.HTTP_5XX,
    FaultKind.RATE_LIMIT,
    FaultKind.RESET,
    FaultKind.INTERNAL_ERROR,
    FaultKind.TRUNCATED,
    FaultKind.INVALID_JSON,
    FaultKind.HTTP_5XX,
]


async def test_transient_faults_are_retried_and_nothing_is_lost(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    tencent.faults = FaultPlan.script(TRANSIENT)
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    assert report.outcome == "succeeded"
    assert report.sources[0].retries == len(TRANSIENT)
    assert await stored_ids(pool) == reachable(tencent, frozen_now)


async def test_an_answer_slower_than_the_timeout_is_retried(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    tencent.faults = FaultPlan.script([FaultKind.SLOW], slow_seconds=1.0)
    settings = fast_settings(tencent_account(tencent_url), timeout=0.3)
    report = await run(pool, settings, backfill_all(frozen_now), frozen_now)
    assert (report.outcome, report.sources[0].retries) == ("succeeded", 1)
    assert await stored_ids(pool) == reachable(tencent, frozen_now)


async def test_the_vendors_rate_limit_answers_are_retried(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    # The gateway's clock moves a quarter second per request: at 2/s its bucket refills half a
    # token each time, so after the burst every other request is refused, however fast the
    # machine. One window at a time makes each refusal's retry the very next request.
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: frozen_now,
        rate_limits={"DescribeRecordTask": 2},
        monotonic=itertools.count(0.0, 0.25).__next__,
    )
    sandbox.add_record_tasks(generate_record_tasks(frozen_now, per_day=2, seed=3))
    async with sandbox.serve() as server:
        # The account claims 200/s; the vendor allows 2/s and answers RequestLimitExceeded.
        settings = fast_settings(tencent_account(server.url, rate=200)).model_copy(
            update={"concurrency": ConcurrencySettings(windows_per_source=1)}
        )
        report = await run(pool, settings, backfill_all(frozen_now), frozen_now)
    refused = sandbox.requests.outcomes()["RequestLimitExceeded"]
    assert refused > 0
    assert (report.outcome, report.sources[0].retries) == ("succeeded", refused)
    assert await stored_ids(pool) == reachable(sandbox, frozen_now)


async def test_a_signature_expired_answer_is_retried_once_with_a_fresh_signature(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    tencent.faults = FaultPlan.script([FaultKind.SIGNATURE_EXPIRED])
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    assert (report.outcome, report.sources[0].retries) == ("succeeded", 1)


async def test_a_persistent_clock_skew_fails_instead_of_looping(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    skewed = frozen_now + 900  # our clock 15 minutes ahead of Tencent's
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), skewed
    )
    source = report.sources[0]
    assert (source.outcome, source.error_code) == ("failed", "AuthFailure.SignatureExpire")
    assert source.requests <= 2 * 4  # at most one retry for each window in flight


async def test_an_auth_error_fails_the_source_without_retrying(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    account = tencent_account(tencent_url, secret_key="not-the-right-key")
    report = await run(pool, fast_settings(account), backfill_all(frozen_now), frozen_now)
    source = report.sources[0]
    assert (report.outcome, report.exit_code) == ("failed", 1)
    assert (source.outcome, source.error_code) == ("failed", "AuthFailure.SignatureFailure")
    assert source.retries == 0
    assert await stored_ids(pool) == []


async def test_a_failed_source_does_not_stop_the_others(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    good = tencent_account(tencent_url, name="good")
    bad = tencent_account(tencent_url, name="bad", secret_key="not-the-right-key")
    report = await run(pool, fast_settings(bad, good), backfill_all(frozen_now), frozen_now)
    outcomes = {r.key.account: r.outcome for r in report.sources}
    assert outcomes == {"good": "succeeded", "bad": "failed"}
    assert report.exit_code == 1
    assert await stored_ids(pool) == reachable(tencent, frozen_now)
    saved = await pool.fetch(
        "SELECT account, outcome, error_code FROM sync_run_sources ORDER BY account"
    )
    assert [tuple(r) for r in saved] == [
        ("bad", "failed", "AuthFailure.SignatureFailure"),
        ("good", "succeeded", None),
    ]


def expire_tokens_from(tencent: TencentSandbox, first: int, last: int) -> None:
    for n in range(first, last + 1):
        tencent.on_request("DescribeRecordTask", n, TencentSandbox.expire_scroll_tokens)


async def test_an_expired_scroll_token_restarts_its_window_and_nothing_is_lost(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    tencent.page_size = 20  # every window pages: tokens are out when they expire
    expire_tokens_from(tencent, 5, 5)
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    source = report.sources[0]
    assert tencent.requests.outcomes()["InvalidParameter"] >= 1
    assert (report.outcome, source.windows_done) == ("succeeded", source.windows_planned)
    assert await stored_ids(pool) == reachable(tencent, frozen_now)
    assert await pool.fetchval("SELECT count(*) FROM coverage") == source.windows_planned


async def test_scroll_tokens_refused_again_and_again_fail_the_source_with_the_vendors_code(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    expire_tokens_from(tencent, 1, 500)
    report = await run(
        pool, fast_settings(tencent_account(tencent_url)), backfill_all(frozen_now), frozen_now
    )
    source = report.sources[0]
    assert (source.outcome, source.error_code) == ("failed", "InvalidParameter")
    assert "expired" in (source.error_message or "")
