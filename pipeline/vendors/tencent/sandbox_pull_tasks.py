"""DescribeLivePullStreamTasks as Tencent answers it: newest update first, paged by position.

Every request pages the list as it stands at that moment, `(PageNum - 1) * PageSize` records in,
so the list shifts under a reader (trap 7 in shared/vendors/README.md): a task updated or created
during a scan jumps to the front and pushes the rest one place down; a deleted one pulls the rest
one place up. Where the contract is silent the twin reads it this way:

- ties in `UpdateTime` go by `TaskId`, ascending, as text;
- `SpecifyTaskId` matches the custom id a task was created with, held in the stored record under
  that name and never returned (PullStreamTaskInfo has no such field);
- a lookup by `TaskId` or `SpecifyTaskId` is a "single task" query and carries `RecentPullInfo`
  when the task has pulled at least once; an empty string filters nothing;
- `CallbackInfo` and `ErrorInfo` ("not returned for now") are not returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pipeline.sandbox.log import Refusal

MAX_PAGE_SIZE = 20
DEFAULT_PAGE_SIZE = 10
DEFAULT_LIMIT_TASK_NUM = 200
IDS = ("TaskId", "SpecifyTaskId")
PARAMETERS = frozenset({"PageNum", "PageSize", *IDS})
LIST_FIELDS = (
    "TaskId",
    "SourceType",
    "SourceUrls",
    "DomainName",
    "AppName",
    "StreamName",
    "PushArgs",
    "StartTime",
    "EndTime",
    "Region",
    "VodLoopTimes",
    "VodRefreshType",
    "CreateTime",
    "UpdateTime",
    "CreateBy",
    "UpdateBy",
    "CallbackUrl",
    "CallbackEvents",
    "Status",
    "Comment",
    "BackupSourceType",
    "BackupSourceUrl",
    "WatermarkList",
    "VodLocalMode",
    "RecordTemplateId",
    "BackupToUrl",
    "TranscodeTemplateName",
)
SINGLE_TASK_FIELDS = (*LIST_FIELDS, "RecentPullInfo")


def iso_utc(seconds: int) -> str:
    """Relay tasks' time format: UTC ISO-8601 with a Z, e.g. `2019-01-08T10:00:00Z`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_live_pull_stream_tasks(
    params: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]], *, limit_task_num: int
) -> dict[str, Any]:
    """One page of the matching tasks, newest `UpdateTime` first, cut by position."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise Refusal("UnknownParameter", f"The parameter `{unknown[0]}` is not recognized.")
    page_num = _integer(params, "PageNum", 1, "an integer of at least 1")
    page_size = _integer(params, "PageSize", DEFAULT_PAGE_SIZE, "an integer from 1 to 20")
    if page_size > MAX_PAGE_SIZE:
        raise Refusal("InvalidParameterValue", "`PageSize` must be an integer from 1 to 20.")
    wanted = _ids(params)
    matching = sorted(
        (task for task in tasks if all(task.get(k) == v for k, v in wanted.items())),
        key=_newest_first,
    )
    offset = (page_num - 1) * page_size
    fields = SINGLE_TASK_FIELDS if wanted else LIST_FIELDS
    return {
        "TaskInfos": [_project(t, fields) for t in matching[offset : offset + page_size]],
        "PageNum": page_num,
        "PageSize": page_size,
        "TotalNum": len(matching),
        "TotalPage": math.ceil(len(matching) / page_size),
        "LimitTaskNum": limit_task_num,
    }


def _integer(params: Mapping[str, Any], name: str, default: int, rule: str) -> int:
    """An optional positive integer parameter; `rule` words the refusal."""
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Refusal("InvalidParameterValue", f"`{name}` must be {rule}.")
    return value


def _ids(params: Mapping[str, Any]) -> dict[str, str]:
    """The id filters given, by field name; empty strings filter nothing."""
    for name in IDS:
        if name in params and not isinstance(params[name], str):
            raise Refusal("InvalidParameterValue", f"`{name}` must be a string.")
    return {name: params[name] for name in IDS if params.get(name)}


def _newest_first(task: Mapping[str, Any]) -> tuple[float, str]:
    updated = datetime.fromisoformat(task["UpdateTime"]).timestamp()
    return -updated, task["TaskId"]


def _project(task: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The documented fields a task carries; twin-only keys (SpecifyTaskId) stay behind."""
    return {name: task[name] for name in fields if name in task}
