"""Half-open periods of aware datetimes, and the union and difference coverage planning uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.periods import Period, merge, subtract

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def span(start: float, end: float) -> Period:
    """The period between two hours after T0."""
    return Period(at(start), at(end))


@pytest.mark.parametrize(
    ("start", "end"),
    [(at(0).replace(tzinfo=None), at(1)), (at(0), at(1).replace(tzinfo=None))],
    ids=["naive start", "naive end"],
)
def test_a_period_with_a_naive_bound_is_refused(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match="Period bounds must be timezone-aware"):
        Period(start, end)


def test_a_period_ending_where_it_starts_is_empty() -> None:
    assert span(3, 3).empty


def test_a_period_ending_after_it_starts_is_not_empty() -> None:
    assert not span(3, 4).empty


def test_a_period_ending_before_it_starts_has_no_length() -> None:
    assert span(4, 3).length == timedelta(0)


def test_a_periods_length_is_from_its_start_to_its_end() -> None:
    assert span(1, 4).length == timedelta(hours=3)


def test_clamping_keeps_only_the_part_inside_the_bounds() -> None:
    assert span(0, 10).clamp(span(2, 5)) == span(2, 5)
    assert span(3, 10).clamp(span(0, 5)) == span(3, 5)


def test_a_period_reads_as_a_half_open_interval_of_iso_times() -> None:
    assert str(span(0, 1)) == "[2024-01-01T00:00:00+00:00, 2024-01-01T01:00:00+00:00)"


def test_merge_joins_touching_periods() -> None:
    assert merge([span(0, 2), span(2, 4)]) == [span(0, 4)]


def test_merge_joins_overlapping_periods_up_to_the_later_end() -> None:
    assert merge([span(0, 3), span(2, 5)]) == [span(0, 5)]


def test_merge_keeps_the_outer_of_two_nested_periods() -> None:
    assert merge([span(0, 10), span(2, 5)]) == [span(0, 10)]


def test_merge_sorts_separate_periods_and_keeps_them_apart() -> None:
    assert merge([span(5, 6), span(0, 1)]) == [span(0, 1), span(5, 6)]


def test_merge_drops_empty_periods() -> None:
    assert merge([span(1, 1), span(4, 2)]) == []


def test_subtract_leaves_the_uncovered_parts() -> None:
    done = [span(24, 48), span(120, 480)]
    assert subtract([span(0, 240)], done) == [span(0, 24), span(48, 120)]


def test_subtracting_a_period_from_itself_leaves_nothing() -> None:
    assert subtract([span(0, 5)], [span(0, 5)]) == []


def test_a_done_period_ending_where_the_wanted_one_ends_leaves_only_what_precedes_it() -> None:
    assert subtract([span(0, 5)], [span(3, 5)]) == [span(0, 3)]


def test_nothing_done_leaves_the_wanted_periods_merged() -> None:
    assert subtract([span(3, 8), span(0, 5)], []) == [span(0, 8)]


def test_done_periods_after_the_wanted_one_leave_it_whole() -> None:
    assert subtract([span(0, 10)], [span(10, 12), span(20, 30)]) == [span(0, 10)]


def test_done_periods_before_the_wanted_one_leave_it_whole() -> None:
    assert subtract([span(10, 20)], [span(0, 5), span(5, 10)]) == [span(10, 20)]


def test_a_done_period_before_the_wanted_one_does_not_hide_later_done_periods() -> None:
    assert subtract([span(10, 20)], [span(0, 5), span(12, 15)]) == [span(10, 12), span(15, 20)]


def test_each_wanted_period_loses_the_done_periods_inside_it() -> None:
    wanted = [span(0, 10), span(20, 30)]
    done = [span(5, 8), span(22, 25)]
    assert subtract(wanted, done) == [span(0, 5), span(8, 10), span(20, 22), span(25, 30)]


def test_a_done_period_spanning_two_wanted_periods_removes_both_parts() -> None:
    wanted = [span(0, 10), span(20, 30)]
    assert subtract(wanted, [span(5, 25)]) == [span(0, 5), span(25, 30)]
