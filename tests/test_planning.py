"""What one run fetches, skips, records as lost and strands, from a source's rules and coverage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.periods import Period, merge
from pipeline.planning.decisions import Unfinished, plan_backfill, plan_sync, unsettle
from pipeline.planning.windows import Window
from pipeline.vendors.tencent.record_tasks import RULES

NOW = datetime.fromtimestamp(1_700_000_000, UTC)
REACH = RULES.reach(NOW)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# A vendor whose tasks last at most two hours; windows must still hold a task's end.
SHORT_TASKS = replace(RULES, overlap=2 * HOUR + timedelta(seconds=60), longest_task=2 * HOUR)


def running(start: datetime, lasting: timedelta | None = None) -> Unfinished:
    """A task last seen running, with its expected end when one is known."""
    return Unfinished("t", start, start + lasting if lasting else None, "running")


def covering(windows: list[Window], moment: datetime) -> list[Window]:
    """The windows whose complete answer lists a task starting at `moment`."""
    return [w for w in windows if w.covers.start <= moment < w.covers.end]


def test_a_task_running_exactly_the_documented_longest_has_not_outlived_it() -> None:
    assert not running(NOW - RULES.longest_task).outlived(RULES, NOW)


def test_a_task_running_past_the_documented_longest_has_outlived_it() -> None:
    later = NOW - RULES.longest_task - timedelta(seconds=1)
    assert running(later).outlived(RULES, NOW)


def test_a_task_last_seen_unfinished_right_at_the_reachs_start_is_planned_again() -> None:
    plan = plan_sync(RULES, NOW, [REACH], REACH.start, [running(REACH.start)])
    assert len(covering(plan.windows, REACH.start)) == 1


def test_a_task_last_seen_unfinished_right_at_the_reachs_start_is_not_stranded() -> None:
    plan = plan_sync(RULES, NOW, [REACH], REACH.start, [running(REACH.start)])
    assert plan.stranded == []


def test_windows_overlap_by_the_longest_unfinished_task_plus_the_vendors_margin() -> None:
    margin = RULES.overlap - RULES.longest_task
    rules, _ = unsettle(RULES, NOW, [], [running(NOW - 10 * DAY, 30 * HOUR)])
    assert rules.overlap == 30 * HOUR + margin


def test_without_tasks_last_seen_unfinished_the_overlap_stays_as_declared() -> None:
    rules, _ = unsettle(SHORT_TASKS, NOW, [], [])
    assert rules.overlap == SHORT_TASKS.overlap


def test_an_unfinished_task_of_unknown_end_leaves_the_overlap_as_declared() -> None:
    rules, _ = unsettle(SHORT_TASKS, NOW, [], [running(NOW - 10 * DAY)])
    assert rules.overlap == SHORT_TASKS.overlap


def test_a_task_expected_to_outlast_a_window_is_planned_within_the_windows_span() -> None:
    start = NOW - 20 * DAY
    plan = plan_sync(RULES, NOW, [REACH], REACH.start, [running(start, 10 * DAY)])
    (window,) = covering(plan.windows, start)
    assert window.query.length <= RULES.max_span


def test_sync_refetches_no_settled_start_times_after_older_ones_that_fell_out_of_reach() -> None:
    settled = [Period(REACH.start - 10 * DAY, REACH.start - 5 * DAY), Period(NOW - 30 * DAY, NOW)]
    plan = plan_sync(RULES, NOW, settled, first_covered=REACH.start - 10 * DAY)
    assert merge(w.covers for w in plan.windows) == [
        Period(REACH.start, NOW - 30 * DAY),
        Period(NOW, REACH.end),
    ]


def test_sync_reports_the_settled_start_times_within_reach_as_skipped() -> None:
    settled = [Period(REACH.start - DAY, NOW - 2 * DAY)]
    plan = plan_sync(RULES, NOW, settled, REACH.start - DAY)
    assert plan.skipped == [Period(REACH.start, NOW - 2 * DAY)]


def test_sync_records_as_lost_only_what_had_not_settled_before_falling_out_of_reach() -> None:
    old = REACH.start - 30 * DAY
    settled = [Period(old, old + DAY), Period(old + 2 * DAY, old + 3 * DAY)]
    plan = plan_sync(RULES, NOW, settled, first_covered=old)
    assert plan.unreachable == [
        Period(old + DAY, old + 2 * DAY),
        Period(old + 3 * DAY, REACH.start),
    ]


def test_backfill_plans_again_the_start_time_of_a_task_last_seen_unfinished() -> None:
    start = NOW - 10 * DAY
    requested = Period(NOW - 30 * DAY, NOW)
    plan = plan_backfill(RULES, NOW, requested, [requested], [running(start)])
    just_its_start = Period(start, start + timedelta(milliseconds=1))
    assert merge(w.covers for w in plan.windows) == [just_its_start]


def test_backfill_asks_for_nothing_when_the_request_is_all_out_of_reach() -> None:
    requested = Period(REACH.start - 10 * DAY, REACH.start - DAY)
    plan = plan_backfill(RULES, NOW, requested, [])
    assert plan.windows == []
    assert plan.unreachable == [requested]


def test_a_first_sync_records_no_gap() -> None:
    assert plan_sync(RULES, NOW, [], first_covered=None).unreachable == []


def test_a_first_sync_fetches_every_start_time_within_reach() -> None:
    plan = plan_sync(RULES, NOW, [], first_covered=None)
    assert merge(w.covers for w in plan.windows) == [REACH]


def test_a_sync_whose_coverage_began_within_reach_records_no_gap() -> None:
    since = NOW - 10 * DAY
    assert plan_sync(RULES, NOW, [Period(since, NOW)], first_covered=since).unreachable == []
