"""Hedged reads: a late answer is asked for again, and a stalled answer never stalls its source."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
import pytest

from pipeline.hedging import HedgeRules, Latencies, first_good
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import fast_settings, tencent_account
from tests.runs import backfill_all, reachable, run, stored_ids
from tests.virtual_time import run_virtual


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


def test_too_few_answers_hedge_after_the_cold_delay() -> None:
    latencies = Latencies(HedgeRules(min_samples=10, cold_delay=5.0))
    for _ in range(9):
        latencies.add(0.5)
    assert latencies.hedge_after() == 5.0
    latencies.add(0.5)  # the tenth: now the percentile is trusted
    assert latencies.hedge_after() == pytest.approx(1.5)


def test_the_cold_delay_is_never_under_the_least_delay() -> None:
    latencies = Latencies(HedgeRules(cold_delay=0.2, min_delay=1.0))
    assert latencies.hedge_after() == 1.0


def test_only_the_most_recent_answers_count() -> None:
    latencies = Latencies(HedgeRules(samples=20, min_samples=10))
    for _ in range(20):
        latencies.add(4.0)  # a slow spell, long past
    for _ in range(20):
        latencies.add(0.5)
    assert latencies.hedge_after() == pytest.approx(1.5)


def test_the_percentile_is_the_answer_at_its_rank_rounded_up() -> None:
    rules = HedgeRules(samples=20, min_samples=1, percentile=0.9, factor=1.0, min_delay=0.0)
    latencies = Latencies(rules)
    latencies.add(1.0)
    for n in range(20, 1, -1):  # 20 s down to 2 s: the ring is sorted before it is read
        latencies.add(float(n))
    assert latencies.hedge_after() == 18.0  # 0.9 x 20 = 18: the 18th of 20
    latencies.add(20.5)  # the oldest, 1 s, drops out of the ring: 19 s is the 18th now
    assert latencies.hedge_after() == 19.0
    latencies = Latencies(rules)
    for seconds in (3.0, 1.0, 2.0):
        latencies.add(seconds)
    assert latencies.hedge_after() == 3.0  # 0.9 x 3 = 2.7: the 3rd of 3


def test_a_zero_percentile_is_the_fastest_answer() -> None:
    rules = HedgeRules(min_samples=1, percentile=0.0, factor=1.0, min_delay=0.0)
    latencies = Latencies(rules)
    for seconds in (3.0, 1.0, 2.0):
        latencies.add(seconds)
    assert latencies.hedge_after() == 1.0


# --- first_good, on virtual time: every timer fires exactly on time, and nothing waits -------


async def _answer(value: str, after: float) -> str:
    await asyncio.sleep(after)
    return value


async def _fail(after: float, message: str = "bad answer") -> str:
    await asyncio.sleep(after)
    raise ValueError(message)


def _later(coro: Coroutine[Any, Any, str]) -> asyncio.Future[str]:
    return asyncio.ensure_future(coro)


async def _timed(read: Awaitable[str]) -> tuple[str, float]:
    """The read's answer and the virtual seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    return await read, loop.time() - start


def test_the_first_good_answer_wins_at_once_and_the_other_is_cancelled() -> None:
    async def main() -> None:
        slow, fast = _later(_answer("slow", 10)), _later(_answer("fast", 2))
        assert await _timed(first_good([slow, fast], within=5)) == ("fast", 2.0)
        assert slow.cancelled()

    run_virtual(main())


def test_a_failure_waits_for_the_other_answer() -> None:
    async def main() -> None:
        failing, late = _later(_fail(1)), _later(_answer("late", 3))
        assert await _timed(first_good([failing, late], within=5)) == ("late", 3.0)

    run_virtual(main())


def test_when_every_answer_fails_the_first_failure_is_raised() -> None:
    async def main() -> None:
        tasks = [_later(_fail(2, "second")), _later(_fail(1, "first"))]
        with pytest.raises(ValueError, match="first"):
            await first_good(tasks, within=5)

    run_virtual(main())


def test_answers_that_come_together_are_taken_in_the_order_they_were_sent() -> None:
    async def main() -> None:
        tasks = [_later(_answer(f"answer {n}", 1)) for n in range(6)]
        assert await first_good(tasks, within=5) == "answer 0"

    run_virtual(main())


def test_failures_that_come_together_raise_the_first_sent() -> None:
    async def main() -> None:
        tasks = [_later(_fail(1, f"failure {n}")) for n in range(6)]
        with pytest.raises(ValueError, match="failure 0"):
            await first_good(tasks, within=5)

    run_virtual(main())


def test_the_pair_ends_at_its_bound_and_cancels_what_is_left() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stalled = _later(_answer("never", 10))
        with pytest.raises(TimeoutError):
            await first_good([stalled], within=4)
        assert loop.time() - start == 4.0
        assert stalled.cancelled()

    run_virtual(main())


def test_an_answer_at_the_bound_is_too_late() -> None:
    async def main() -> None:
        with pytest.raises(TimeoutError):
            await first_good([_later(_answer("just late", 4))], within=4)

    run_virtual(main())


def _spares(answers: list[tuple[str, float]], sent: list[float]) -> Callable[[], Awaitable[str]]:
    """A spare that answers from `answers` in turn and notes when each was sent (seconds from
    now)."""
    script = iter(answers)
    loop = asyncio.get_running_loop()
    start = loop.time()

    def spare() -> Awaitable[str]:
        sent.append(loop.time() - start)
        return _answer(*next(script))

    return spare


def test_the_first_spare_leaves_at_once_and_the_next_every_delay() -> None:
    async def main() -> None:
        sent: list[float] = []
        spare = _spares([("held", 100), ("second spare", 0.25)], sent)
        stalled = _later(_answer("never", 100))
        read = first_good([stalled], within=10, spare=spare, every=0.5, spares=2)
        assert await _timed(read) == ("second spare", 0.75)
        assert sent == [0.0, 0.5]
        assert stalled.cancelled()

    run_virtual(main())


def test_spares_leave_one_period_apart() -> None:
    async def main() -> None:
        sent: list[float] = []
        spare = _spares([("held", 100)] * 3 + [("fourth spare", 0.25)], sent)
        stalled = _later(_answer("never", 100))
        read = first_good([stalled], within=10, spare=spare, every=1, spares=4)
        assert await _timed(read) == ("fourth spare", 3.25)
        assert sent == [0.0, 1.0, 2.0, 3.0]

    run_virtual(main())


def test_without_a_period_one_spare_leaves_at_once_and_no_other() -> None:
    async def main() -> None:
        sent: list[float] = []
        spare = _spares([("spare", 0.25)] * 3, sent)
        stalled = _later(_answer("never", 100))
        read = first_good([stalled], within=10, spare=spare, spares=3)
        assert await _timed(read) == ("spare", 0.25)
        assert sent == [0.0]

    run_virtual(main())


def test_no_more_spares_than_allowed_are_sent() -> None:
    async def main() -> None:
        sent: list[float] = []
        spare = _spares([("held", 100)] * 5, sent)
        stalled = _later(_answer("never", 100))
        with pytest.raises(TimeoutError):
            await first_good([stalled], within=10, spare=spare, every=1, spares=2)
        assert sent == [0.0, 1.0]

    run_virtual(main())


def test_no_spare_is_sent_unless_spares_are_allowed() -> None:
    async def main() -> None:
        sent: list[float] = []
        spare = _spares([("held", 100)] * 5, sent)
        with pytest.raises(TimeoutError):
            await first_good([_later(_answer("never", 100))], within=10, spare=spare, every=1)
        assert sent == []

    run_virtual(main())


def test_no_spare_is_sent_once_an_answer_has_come() -> None:
    async def main() -> None:
        sent: list[float] = []
        spare = _spares([("held", 100)] * 5, sent)
        original = _later(_answer("original", 2))
        read = first_good([original], within=10, spare=spare, every=3, spares=2)
        assert await _timed(read) == ("original", 2.0)
        assert sent == [0.0]

    run_virtual(main())


def test_a_failed_spare_does_not_end_the_read() -> None:
    async def main() -> None:
        script = iter([_fail(1, "spare failed")])
        original = _later(_answer("original", 2))
        read = first_good([original], within=10, spare=lambda: next(script), every=3, spares=1)
        assert await _timed(read) == ("original", 2.0)

    run_virtual(main())


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
