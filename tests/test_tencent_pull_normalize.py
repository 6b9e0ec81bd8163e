"""Tencent relay tasks into the task shape: ISO UTC times, the status derived from the times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.model import Kind, Rejection, Status, Task
from pipeline.vendors.tencent.pull_tasks import PullStreamTasks

SOURCE = PullStreamTasks()
# The documented example response's task, as DescribeLivePullStreamTasks returns it.
EXAMPLE = {
    "TaskId": "10054",
    "SourceType": "PullLivePushLive",
    "SourceUrls": ["rtmp://source.example.com/live/a"],
    "DomainName": "push.example.com",
    "AppName": "live",
    "StreamName": "relay-a",
    "PushArgs": "",
    "StartTime": "2019-01-08T10:00:00Z",
    "EndTime": "2019-01-09T10:00:00Z",
    "Region": "ap-guangzhou",
    "VodLoopTimes": -1,
    "VodRefreshType": "ImmediateNewSource",
    "CreateTime": "2019-01-07T08:00:00Z",
    "UpdateTime": "2019-01-07T08:00:00Z",
    "CreateBy": "console",
    "UpdateBy": "console",
    "CallbackUrl": "",
    "CallbackEvents": ["TaskStart", "TaskExit"],
    "Status": "enable",
    "Comment": "",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_documented_task_becomes_a_whole_row() -> None:
    assert SOURCE.normalize(EXAMPLE, at("2019-01-08T12:00:00+00:00")) == Task(
        task_id="10054",
        kind=Kind.PULL_STREAM,
        status=Status.RUNNING,
        vendor_status="enable",
        start_time=datetime(2019, 1, 8, 10, tzinfo=UTC),
        end_time=datetime(2019, 1, 9, 10, tzinfo=UTC),
        raw=EXAMPLE,
        domain="push.example.com",
        app="live",
        stream="relay-a",
    )


@pytest.mark.parametrize(
    ("status", "observed", "expected"),
    [
        ("enable", "2019-01-08T09:59:59+00:00", Status.SCHEDULED),
        ("enable", "2019-01-09T10:00:00+00:00", Status.FINISHED),  # still `enable` after its end
        ("pause", "2019-01-08T12:00:00+00:00", Status.STOPPED),
        ("disabled", "2019-01-08T12:00:00+00:00", Status.UNKNOWN),
    ],
)
def test_status_comes_from_the_vendor_value_and_the_times(
    status: str, observed: str, expected: Status
) -> None:
    task = SOURCE.normalize({**EXAMPLE, "Status": status}, at(observed))
    assert isinstance(task, Task)
    assert (task.status, task.vendor_status) == (expected, status)


def test_an_offset_other_than_utc_is_converted() -> None:
    task = SOURCE.normalize(
        {**EXAMPLE, "StartTime": "2019-01-08T18:00:00+08:00"}, at("2019-01-08T12:00:00+00:00")
    )
    assert isinstance(task, Task) and task.start_time == datetime(2019, 1, 8, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TaskId": 10054}, "TaskId"),
        ({"StartTime": "yesterday"}, "StartTime"),
        ({"EndTime": "2019-01-09T10:00:00"}, "EndTime"),
        ({"SourceUrls": "rtmp://x"}, "SourceUrls"),
    ],
)
def test_a_malformed_task_is_rejected_naming_the_field(change: dict, named: str) -> None:
    rejection = SOURCE.normalize({**EXAMPLE, **change}, at("2019-01-08T12:00:00+00:00"))
    assert isinstance(rejection, Rejection) and named in rejection.reason
