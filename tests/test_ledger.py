"""What a window's ledger decides of each read, from plain values: no database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import xxhash

from pipeline.ledger import Batch, Ledger, Read, content_hash, latest
from pipeline.model import COMPARED_COLUMNS, Kind, Status, Task
from pipeline.payloads import json_bytes
from tests.hourly_tasks import DAY, T0, task

NEXT_DAY = T0 + timedelta(days=1, hours=1)  # a start time just outside DAY


def stopped(n: int, **changes: object) -> Task:
    return task(n, status=Status.STOPPED, **changes)


def stored(*tasks: Task) -> dict[str, int | None]:
    return {t.task_id: content_hash(t) for t in tasks}


def ids(reads: list[Read]) -> list[str]:
    return [r.task.task_id for r in reads]


def decided(ledger: Ledger, *tasks: Task) -> Batch:
    ledger.add(tasks, T0)
    return ledger.decide()


# --- the content hash ---------------------------------------------------------------------


@pytest.mark.parametrize("n", range(8))
def test_the_content_hash_is_the_xxh3_digest_of_the_compared_columns_as_a_signed_bigint(
    n: int,
) -> None:
    t = task(n)
    digest = xxhash.xxh3_64_intdigest(json_bytes(tuple(getattr(t, c) for c in COMPARED_COLUMNS)))
    h = content_hash(t)
    assert -(2**63) <= h < 2**63
    assert h % 2**64 == digest


def test_a_tasks_id_is_not_part_of_its_content_hash() -> None:
    assert content_hash(task(1)) == content_hash(task(1, task_id="other"))


# One change to each compared column.
CHANGES = [
    {"kind": Kind.PULL_STREAM}, {"domain": "e"}, {"app": "vod"}, {"stream": "x"},
    {"room_id": "r"}, {"status": Status.RUNNING}, {"vendor_status": "2"}, {"start_time": T0},
    {"end_time": None}, {"raw": {"TaskId": "task-1", "Stopped": 1}},
]  # fmt: skip


@pytest.mark.parametrize("change", CHANGES)
def test_each_compared_column_changes_the_content_hash(change: dict) -> None:
    assert content_hash(task(1, **change)) != content_hash(task(1))


# --- reads as they are added --------------------------------------------------------------


def test_latest_keeps_the_last_read_of_each_task_whatever_their_order() -> None:
    reads = [Read(3, task(1), T0, 0), Read(1, task(1), T0, 0), Read(2, task(2), T0, 0)]
    assert sorted((r.task.task_id, r.ord) for r in latest(reads)) == [("task-1", 3), ("task-2", 2)]


def test_a_reread_matching_its_stored_task_buffers_nothing() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([task(1)], T0)
    assert (ledger.read, ledger.pending) == (1, 0)


def test_a_read_that_differs_from_its_stored_task_is_buffered() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([stopped(1)], T0)
    assert (ledger.read, ledger.pending) == (1, 1)


def test_a_stored_task_to_rewrite_is_buffered_even_unchanged() -> None:
    ledger = Ledger(DAY, {"task-1": None})
    ledger.add([task(1)], T0)
    assert ledger.pending == 1


def test_a_matching_reread_after_a_buffered_read_of_the_task_is_buffered_too() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([stopped(1)], T0)
    ledger.add([task(1)], T0)  # the latest read must win over the buffered one
    assert ledger.pending == 2


def test_reads_are_numbered_from_one_in_read_order_across_pages() -> None:
    ledger = Ledger(DAY, stored(task(2)))
    ledger.add([task(1), task(2)], T0)
    ledger.add([task(3)], T0 + timedelta(minutes=1))
    batch = ledger.decide()
    assert [(r.ord, r.task.task_id) for r in batch.new] == [(1, "task-1"), (3, "task-3")]
    assert [r.seen_at for r in batch.new] == [T0, T0 + timedelta(minutes=1)]
    assert batch.new[0].content_hash == content_hash(task(1))


# --- what a complete listing missed -------------------------------------------------------


def test_unread_names_the_stored_tasks_no_read_named() -> None:
    ledger = Ledger(DAY, stored(task(1), task(2), task(3)))
    ledger.add([task(1)], T0)
    decided(ledger, stopped(2))
    assert ledger.unread() == ["task-3"]


def test_a_buffered_read_names_its_stored_task_only_once_decided() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([stopped(1)], T0)
    assert ledger.unread() == ["task-1"]


# --- deciding buffered reads --------------------------------------------------------------


def test_a_read_of_a_task_not_stored_in_the_scope_is_new() -> None:
    batch = decided(Ledger(DAY, {}), task(1))
    assert (ids(batch.new), batch.changed, batch.outside, batch.undecided) == (
        ["task-1"],
        [],
        [],
        [],
    )


def test_every_read_in_one_batch_of_a_new_task_is_new() -> None:
    batch = decided(Ledger(DAY, {}), task(1), stopped(1, start_time=NEXT_DAY))
    assert (ids(batch.new), batch.undecided) == (["task-1", "task-1"], [])


def test_a_read_that_changes_a_stored_task_in_the_scope_is_changed() -> None:
    batch = decided(Ledger(DAY, stored(task(1))), stopped(1))
    assert (batch.new, ids(batch.changed), batch.undecided) == ([], ["task-1"], [])


def test_a_stored_task_to_rewrite_is_changed() -> None:
    batch = decided(Ledger(DAY, {"task-1": None}), task(1))
    assert (batch.new, ids(batch.changed)) == ([], ["task-1"])


def test_a_read_outside_the_scope_is_left_to_the_server() -> None:
    batch = decided(Ledger(DAY, {}), task(1, start_time=NEXT_DAY))
    assert (batch.new, ids(batch.undecided)) == ([], ["task-1"])


def test_a_read_without_a_start_time_lies_outside_any_scope() -> None:
    batch = decided(Ledger(DAY, {}), task(1, start_time=None))
    assert (batch.new, ids(batch.undecided)) == ([], ["task-1"])


def test_a_window_over_the_whole_source_holds_every_read_in_its_scope() -> None:
    batch = decided(Ledger(None, {}), task(1, start_time=None))
    assert (ids(batch.new), batch.undecided) == (["task-1"], [])


def test_the_scope_holds_its_start_and_not_its_end() -> None:
    batch = decided(Ledger(DAY, {}), task(0), task(24))
    assert (ids(batch.new), ids(batch.undecided)) == (["task-0"], ["task-24"])


def test_a_stored_task_read_again_in_a_later_batch_is_left_to_the_server() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([task(1)], T0)  # decided as it was added
    batch = decided(ledger, stopped(1))
    assert (batch.changed, ids(batch.undecided)) == ([], ["task-1"])


def test_a_task_read_again_after_its_insert_is_left_to_the_server() -> None:
    ledger = Ledger(DAY, {})
    ledger.note_inserted(decided(ledger, task(1)).new)
    batch = decided(ledger, stopped(1))
    assert (batch.new, ids(batch.undecided)) == ([], ["task-1"])


def test_every_later_read_of_a_changed_task_is_changed_too() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    decided(ledger, stopped(1))
    batch = decided(ledger, task(1, start_time=NEXT_DAY))
    assert (ids(batch.changed), batch.outside, batch.undecided) == (["task-1"], [], [])


def test_a_task_staged_after_a_refused_insert_has_its_later_reads_changed() -> None:
    ledger = Ledger(DAY, {})
    ledger.note_staged(decided(ledger, task(1)).new)
    batch = decided(ledger, stopped(1))
    assert (batch.new, ids(batch.changed), batch.undecided) == ([], ["task-1"], [])


def test_tasks_inserted_in_earlier_batches_stay_noted_as_inserted() -> None:
    ledger = Ledger(DAY, {})
    ledger.note_inserted(decided(ledger, task(1)).new)
    ledger.note_inserted(decided(ledger, task(2)).new)
    batch = decided(ledger, stopped(1), stopped(2))
    assert (batch.new, ids(batch.undecided)) == ([], ["task-1", "task-2"])


def test_tasks_staged_earlier_stay_staged_when_a_refused_insert_stages_more() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    decided(ledger, stopped(1))
    ledger.note_staged(decided(ledger, task(2)).new)
    batch = decided(ledger, task(1), stopped(2))
    assert (ids(batch.changed), batch.undecided) == (["task-1", "task-2"], [])


def test_deciding_takes_the_buffered_reads() -> None:
    ledger = Ledger(DAY, {})
    decided(ledger, task(1))
    assert ledger.pending == 0
    assert ledger.decide() == Batch()


# --- deciding by the server's comparison --------------------------------------------------


def compared(ledger: Ledger, differing: set[int], *tasks: Task) -> Batch:
    batch = decided(ledger, *tasks)
    ledger.decide_compared(batch, differing)
    return batch


def test_a_read_in_the_scope_the_server_names_is_changed() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([task(1)], T0)
    batch = compared(ledger, {1}, stopped(1))
    assert (ids(batch.changed), batch.outside) == (["task-1"], [])


def test_a_read_outside_the_scope_the_server_names_is_merged_apart() -> None:
    batch = compared(Ledger(DAY, {}), {1}, task(1, start_time=NEXT_DAY))
    assert (batch.changed, ids(batch.outside)) == ([], ["task-1"])


def test_a_read_the_server_does_not_name_is_written_nowhere() -> None:
    batch = compared(Ledger(DAY, {}), set(), task(1, start_time=NEXT_DAY))
    assert (batch.new, batch.changed, batch.outside) == ([], [], [])


def test_the_server_names_reads_by_their_position_from_one() -> None:
    outside = [task(n, start_time=NEXT_DAY) for n in (1, 2, 3)]
    batch = compared(Ledger(DAY, {}), {2}, *outside)
    assert ids(batch.outside) == ["task-2"]


def test_a_task_this_window_inserted_is_its_own_to_update_outside_the_scope() -> None:
    ledger = Ledger(DAY, {})
    ledger.note_inserted(decided(ledger, task(1)).new)
    batch = compared(ledger, {1}, stopped(1, start_time=NEXT_DAY))
    assert (ids(batch.changed), batch.outside) == (["task-1"], [])


def test_every_undecided_read_of_a_task_the_server_names_once_follows_it_in_order() -> None:
    first, last = task(1, start_time=NEXT_DAY), stopped(1, start_time=NEXT_DAY)
    batch = compared(Ledger(DAY, {}), {2}, first, last)
    assert [r.task for r in batch.outside] == [first, last]


def test_a_task_named_outside_the_scope_has_its_later_reads_merged_apart() -> None:
    ledger = Ledger(DAY, {})
    compared(ledger, {1}, task(1, start_time=NEXT_DAY))
    batch = decided(ledger, stopped(1))
    assert (batch.new, batch.changed, ids(batch.outside)) == ([], [], ["task-1"])


def test_a_task_named_in_the_scope_stays_changed_when_read_outside_it_later() -> None:
    ledger = Ledger(DAY, stored(task(1)))
    ledger.add([task(1)], T0)
    batch = compared(ledger, {1, 2}, stopped(1), stopped(1, start_time=NEXT_DAY))
    assert (len(batch.changed), batch.outside) == (2, [])
