"""Hedged reads: a late answer is asked for again, and a stalled answer never stalls its source."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from pipeline.hedging import HedgeRules, Latencies, first_good
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import fast_settings, tencent_account
from tests.runs import backfill_all, reachable, run, stored_ids


def test_the_hedge_waits_three_times_the_95th_percentile_and_at_least_a_second() -> None:
    latencies = Latencies(HedgeRules(samples=20, min_samples=10))
    assert latencies.hedge_after() == 5.0  # nothing known yet: the cold delay
    for _ in range(19):
        latencies.add(0.1)
    assert latencies.hedge_after() == 1.0  # 3 x 0.1 s is under the floor
    latencies.add(2.0)  # the slowest of 20 is above the 95th percentile
    assert latencies.hedge_after() == pytest.approx(1.0)
    for _ in range(2):
        latencies.add(0.5)
    assert latencies.hedge_after() == pytest.approx(1.5)


async def _answer(value: str, after: float) -> str:
    await asyncio.sleep(after)
    return value


async def _fail(after: float) -> str:
    await asyncio.sleep(after)
    raise ValueError("bad answer")


async def test_the_first_good_answer_wins_and_the_other_is_cancelled() -> None:
    slow = asyncio.ensure_future(_answer("slow", 10))
    fast = asyncio.ensure_future(_answer("fast", 0.01))
    assert await first_good([slow, fast], within=5) == "fast"
    assert slow.cancelled()


async def test_a_failure_waits_for_the_other_answer() -> None:
    failing = asyncio.ensure_future(_fail(0.01))
    late = asyncio.ensure_future(_answer("late", 0.05))
    assert await first_good([failing, late], within=5) == "late"


async def test_when_every_answer_fails_the_first_failure_is_raised() -> None:
    with pytest.raises(ValueError, match="bad answer"):
        await first_good([asyncio.ensure_future(_fail(0.01))], within=5)


async def test_the_pair_ends_within_its_bound() -> None:
    stalled = asyncio.ensure_future(_answer("never", 10))
    with pytest.raises(TimeoutError):
        await first_good([stalled], within=0.05)
    assert stalled.cancelled()


async def test_a_hedge_that_is_held_too_is_followed_by_another() -> None:
    answers = iter([("held", 10), ("second spare", 0.01)])
    stalled = asyncio.ensure_future(_answer("never", 10))

    def spare() -> asyncio.Future[str]:
        return asyncio.ensure_future(_answer(*next(answers)))

    got = await first_good([stalled], within=5, spare=spare, every=0.05, spares=2)
    assert got == "second spare"
    assert stalled.cancelled()


async def test_no_more_spares_than_allowed_are_sent() -> None:
    sent: list[int] = []

    def spare() -> asyncio.Future[str]:
        sent.append(1)
        return asyncio.ensure_future(_answer("held", 10))

    stalled = asyncio.ensure_future(_answer("never", 10))
    with pytest.raises(TimeoutError):
        await first_good([stalled], within=0.3, spare=spare, every=0.05, spares=2)
    assert len(sent) == 2


STALL_SECONDS = 20.0
# Far enough apart that a hedge, sent about a second after its stall (40 requests at 40/s),
# never draws the next stall itself.
STALLS_AT = (30, 110, 190)


async def test_a_backfill_with_stalled_answers_keeps_its_pace_and_loses_nothing(
    pool: asyncpg.Pool, tencent: TencentSandbox, tencent_url: str, frozen_now: int
) -> None:
    tencent.page_size = 15
    script = [FaultKind.SLOW if n in STALLS_AT else None for n in range(1, max(STALLS_AT) + 1)]
    tencent.faults = FaultPlan.script(script, slow_seconds=STALL_SECONDS)
    settings = fast_settings(tencent_account(tencent_url, rate=40), timeout=30)
    started = time.monotonic()
    report = await run(pool, settings, backfill_all(frozen_now), frozen_now)
    elapsed = time.monotonic() - started
    source = report.sources[0]
    assert report.outcome == "succeeded"
    assert await stored_ids(pool) == reachable(tencent, frozen_now)
    assert len(tencent.requests) > max(STALLS_AT)
    assert tencent.requests.outcomes()["slow"] == len(STALLS_AT)
    # Each stall cost one extra request and no timeout, no retry.
    assert (source.hedges, source.retries) == (len(STALLS_AT), 0)
    assert source.requests == len(tencent.requests)
    # Waiting the stalls out would take a minute; a generous bound, for a loaded machine.
    assert elapsed < STALL_SECONDS
