"""Window planning: Tencent's containment rule, the 90-day reach, and what sync re-fetches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.periods import Period, merge
from pipeline.planning.decisions import Unfinished, plan_backfill, plan_sync
from pipeline.planning.windows import Window, plan_windows, settled
from pipeline.vendors.tencent.record_tasks import RULES

NOW = datetime.fromtimestamp(1_700_000_000, UTC)
PAST_ONLY = replace(RULES, horizon=timedelta(0))


def ts(dt: datetime) -> int:
    return int(dt.timestamp())


def test_full_backfill_matches_the_contracts_worked_example() -> None:
    windows = plan_windows(PAST_ONLY, [PAST_ONLY.reach(NOW)], NOW)
    bounds = [(ts(w.query.start), ts(w.query.end)) for w in windows]
    assert len(bounds) == 15
    assert bounds[:3] == [
        (1692224600, 1692829340),
        (1692742880, 1693347620),
        (1693261160, 1693865900),
    ]
    assert bounds[-1] == (1699480520, 1700000000)


def test_every_window_is_at_most_a_week_and_inside_the_reach() -> None:
    reach = RULES.reach(NOW)
    for window in plan_windows(RULES, [reach], NOW):
        assert window.query.length < timedelta(weeks=1)
        assert window.query.start >= NOW - timedelta(days=90)
        assert window.query.end <= NOW + timedelta(days=7)


def test_any_task_of_at_most_24_hours_lies_wholly_inside_some_window() -> None:
    windows = plan_windows(RULES, [RULES.reach(NOW)], NOW)
    start = RULES.reach(NOW).start
    while start < NOW + timedelta(days=6):
        end = start + timedelta(hours=24)
        assert any(w.query.start <= start and end <= w.query.end for w in windows), start
        start += timedelta(minutes=37)


def test_covered_ranges_tile_the_reach_without_holes() -> None:
    reach = RULES.reach(NOW)
    windows = plan_windows(RULES, [reach], NOW)
    assert merge(w.covers for w in windows) == [reach]


def test_sync_after_a_complete_backfill_fetches_only_the_unsettled_tail() -> None:
    backfill = plan_windows(RULES, [RULES.reach(NOW)], NOW)
    done = merge(settled(w.covers, NOW, RULES) for w in backfill)
    later = NOW + timedelta(hours=6)
    plan = plan_sync(RULES, later, done, first_covered=backfill[0].covers.start)
    assert plan.unreachable == []
    assert plan.windows[0].query.start == NOW - RULES.settle_after
    assert len(plan.windows) == 2


def settled_after_backfill() -> tuple[list[Period], datetime]:
    backfill = plan_windows(RULES, [RULES.reach(NOW)], NOW)
    return merge(settled(w.covers, NOW, RULES) for w in backfill), backfill[0].covers.start


def test_a_start_time_with_a_task_last_seen_unfinished_is_planned_again_however_old() -> None:
    done, first = settled_after_backfill()
    start = NOW - timedelta(days=10)
    long = Unfinished("t", start, start + timedelta(hours=30), "running")
    plan = plan_sync(RULES, NOW + timedelta(hours=6), done, first, [long])
    holding = [w for w in plan.windows if w.covers.start <= start < w.covers.end]
    assert len(holding) == 1 and holding[0].query.end >= long.end  # the window holds its end
    assert len(plan.windows) == 3  # the task's own, and the usual two


def test_a_task_last_seen_unfinished_out_of_reach_is_stranded_not_planned() -> None:
    done, first = settled_after_backfill()
    long = Unfinished("t", NOW - timedelta(days=89), None, "running")
    plan = plan_sync(RULES, NOW + timedelta(days=2), done, first, [long])
    assert plan.stranded == [long]
    assert all(w.query.start >= RULES.reach(NOW + timedelta(days=2)).start for w in plan.windows)


def test_sync_records_a_gap_when_the_last_run_is_older_than_the_reach() -> None:
    backfill = plan_windows(RULES, [RULES.reach(NOW)], NOW)
    done = merge(settled(w.covers, NOW, RULES) for w in backfill)
    much_later = NOW + timedelta(days=100)
    plan = plan_sync(RULES, much_later, done, first_covered=backfill[0].covers.start)
    lost = plan.unreachable
    assert lost and lost[0].start == NOW - RULES.settle_after
    assert lost[-1].end == RULES.reach(much_later).start


def test_backfill_clamps_what_is_older_than_the_reach() -> None:
    requested = Period(NOW - timedelta(days=120), NOW)
    plan = plan_backfill(RULES, NOW, requested, done=[])
    assert plan.unreachable == [Period(requested.start, RULES.reach(NOW).start)]
    assert plan.windows[0].query.start == RULES.reach(NOW).start


def test_backfill_skips_what_is_already_complete() -> None:
    requested = Period(NOW - timedelta(days=30), NOW)
    done = [Period(NOW - timedelta(days=30), NOW - timedelta(days=10))]
    plan = plan_backfill(RULES, NOW, requested, done)
    assert plan.skipped == done
    assert plan.windows[0].covers.start == NOW - timedelta(days=10)


@pytest.mark.parametrize(
    "overlap",
    [RULES.max_span, RULES.max_span + timedelta(hours=1)],
    ids=["as long as the span", "longer than the span"],
)
def test_rules_whose_span_does_not_exceed_the_overlap_are_refused(overlap: timedelta) -> None:
    with pytest.raises(ValueError, match="must exceed overlap"):
        replace(RULES, overlap=overlap)


def test_rules_advancing_by_a_minute_per_window_still_plan_to_the_end() -> None:
    creeping = replace(RULES, overlap=RULES.max_span - timedelta(minutes=1))
    wanted = Period(NOW - timedelta(days=10), NOW - timedelta(days=10) + timedelta(hours=1))
    windows = plan_windows(creeping, [wanted], NOW)
    assert len(windows) == 60
    assert merge(w.covers for w in windows) == [wanted]


def test_a_short_wanted_period_is_asked_for_with_only_the_overlap_added() -> None:
    wanted = Period(NOW - timedelta(days=10), NOW - timedelta(days=10) + timedelta(hours=2))
    assert plan_windows(RULES, [wanted], NOW) == [
        Window(query=Period(wanted.start, wanted.end + RULES.overlap), covers=wanted)
    ]
