"""Tencent record tasks into the task shape: the documented example, whole rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.model import Kind, Rejection, Status, Task
from pipeline.vendors.tencent.record_tasks import RecordTasks

EXAMPLE = json.loads(
    (
        Path(__file__).parent / "data/payloads/tencent_describe_record_task_doc_example.json"
    ).read_text()
)["Response"]["TaskList"]
SOURCE = RecordTasks()


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_documented_stopped_task_becomes_a_whole_row() -> None:
    raw = EXAMPLE[0]
    assert SOURCE.normalize(raw, at(1595790000)) == Task(
        task_id="UpTbk5RSVhRQFkAAfHwQCCjcRD0lRFcZ0xTSlNTQltlRVRLU1JAWW9EUb",
        kind=Kind.RECORD,
        status=Status.STOPPED,
        vendor_status=None,
        start_time=datetime(2020, 7, 26, 16, 11, 40, tzinfo=UTC),
        end_time=datetime(2020, 7, 26, 18, 58, 20, tzinfo=UTC),
        raw=raw,
        domain="5000.live.push.com",
        app="live",
        stream="livetest",
    )


@pytest.mark.parametrize(
    ("observed", "status"),
    [(1595789000, Status.SCHEDULED), (1595790000, Status.RUNNING), (1595799900, Status.FINISHED)],
)
def test_status_follows_the_clock_when_never_stopped(observed: int, status: Status) -> None:
    task = SOURCE.normalize(EXAMPLE[1], at(observed))
    assert isinstance(task, Task) and task.status is status


def test_unknown_fields_are_kept_in_raw_not_refused() -> None:
    raw = {**EXAMPLE[1], "NewField": {"nested": True}}
    task = SOURCE.normalize(raw, at(1595800000))
    assert isinstance(task, Task) and task.raw["NewField"] == {"nested": True}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TaskId": None}, "TaskId"),
        ({"StartTime": "1595789900"}, "StartTime"),
        ({"EndTime": 1595700000}, "EndTime"),
        ({"Stopped": "no"}, "Stopped"),
    ],
)
def test_a_malformed_record_is_rejected_naming_the_field(change: dict, named: str) -> None:
    raw = {**EXAMPLE[1], **change}
    rejection = SOURCE.normalize(raw, at(1595800000))
    assert isinstance(rejection, Rejection)
    assert named in rejection.reason and rejection.raw == raw


def test_a_record_that_is_not_an_object_is_rejected() -> None:
    rejection = SOURCE.normalize("garbage", at(1595800000))  # type: ignore[arg-type]
    assert isinstance(rejection, Rejection) and rejection.task_id is None
