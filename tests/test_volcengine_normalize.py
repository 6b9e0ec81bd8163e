"""Volcengine pull-record tasks into the task shape: offsets parsed, Chinese statuses mapped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.model import Kind, Rejection, Status, Task
from pipeline.vendors.volcengine.pull_record_tasks import PullRecordTasks

SOURCE = PullRecordTasks()
NOW = datetime(2023, 7, 1, tzinfo=UTC)
# The documented list item.
EXAMPLE = {
    "TaskId": "f831f3b0dc******aa4dcf7621",
    "StartTime": "2023-06-30T15:04:05Z",
    "EndTime": "2023-06-30T15:05:05Z",
    "Vhost": "push.example.com",
    "Domain": "push.example.com",
    "App": "Live",
    "Stream": "example_stream",
    "Status": "已结束",
}


def test_the_documented_item_becomes_a_whole_row() -> None:
    assert SOURCE.normalize(EXAMPLE, NOW) == Task(
        task_id="f831f3b0dc******aa4dcf7621",
        kind=Kind.RECORD,
        status=Status.FINISHED,
        vendor_status="已结束",
        start_time=datetime(2023, 6, 30, 15, 4, 5, tzinfo=UTC),
        end_time=datetime(2023, 6, 30, 15, 5, 5, tzinfo=UTC),
        raw=EXAMPLE,
        domain="push.example.com",
        app="Live",
        stream="example_stream",
    )


def test_a_plus_eight_offset_is_the_same_instant_in_utc() -> None:
    task = SOURCE.normalize({**EXAMPLE, "StartTime": "2023-06-30T23:04:05+08:00"}, NOW)
    assert isinstance(task, Task) and task.start_time == datetime(2023, 6, 30, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("vendor", "status"),
    [
        ("停用", Status.STOPPED),
        ("未开始", Status.SCHEDULED),
        ("生效中", Status.RUNNING),
        ("已结束", Status.FINISHED),
        ("Paused", Status.UNKNOWN),
        ("已结束 ", Status.UNKNOWN),
    ],
)
def test_statuses_are_compared_as_exact_strings(vendor: str, status: Status) -> None:
    task = SOURCE.normalize({**EXAMPLE, "Status": vendor}, NOW)
    assert isinstance(task, Task) and (task.status, task.vendor_status) == (status, vendor)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"StartTime": "2023-06-30 15:04:05"}, "StartTime"),
        ({"EndTime": None}, "EndTime"),
        ({"TaskId": ""}, "TaskId"),
        ({"Status": 3}, "Status"),
    ],
)
def test_a_malformed_item_is_rejected_naming_the_field(change: dict, named: str) -> None:
    rejection = SOURCE.normalize({**EXAMPLE, **change}, NOW)
    assert isinstance(rejection, Rejection) and named in rejection.reason
