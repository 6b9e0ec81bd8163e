"""ZEGO tasks into the task shape: milliseconds to timestamptz, codes to statuses, the room kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.model import Kind, Rejection, Status, Task
from pipeline.vendors.zego.tasks import DescribeTasks

SOURCE = DescribeTasks()
NOW = datetime(2021, 8, 10, 4, tzinfo=UTC)
# The documented example item.
EXAMPLE = {
    "RecordBeginTimestamp": 1628565227899,
    "TaskId": "YRHu6-E4IyvEAAAD",
    "RoomId": "1000",
    "Status": 2,
}


def test_the_documented_item_becomes_a_whole_row() -> None:
    assert SOURCE.normalize(EXAMPLE, NOW) == Task(
        task_id="YRHu6-E4IyvEAAAD",
        kind=Kind.RECORD,
        status=Status.RUNNING,
        vendor_status="2",
        start_time=datetime(2021, 8, 10, 3, 13, 47, 899000, tzinfo=UTC),
        end_time=None,
        raw=EXAMPLE,
        room_id="1000",
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1, Status.SCHEDULED),
        (2, Status.RUNNING),
        (3, Status.FINISHED),
        (4, Status.FAILED),
        (5, Status.STOPPED),
        (9, Status.UNKNOWN),
    ],
)
def test_status_codes_map_to_the_normalized_set(code: int, status: Status) -> None:
    task = SOURCE.normalize({**EXAMPLE, "Status": code}, NOW)
    assert isinstance(task, Task) and (task.status, task.vendor_status) == (status, str(code))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"RecordBeginTimestamp": "1628565227899"}, "RecordBeginTimestamp"),
        ({"TaskId": None}, "TaskId"),
        ({"Status": "2"}, "Status"),
    ],
)
def test_a_malformed_item_is_rejected_naming_the_field(change: dict, named: str) -> None:
    rejection = SOURCE.normalize({**EXAMPLE, **change}, NOW)
    assert isinstance(rejection, Rejection) and named in rejection.reason
