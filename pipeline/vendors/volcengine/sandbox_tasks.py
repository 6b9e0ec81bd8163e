"""ListPullRecordTask and GetPullRecordTask as the twin answers them, over stored task records.

Every list request pages the list as it stands at that moment, `(PageNum - 1) * PageSize`
records in, so the list shifts under a reader (trap 12 in shared/vendors/README.md). Where the
contract is silent the twin reads it this way:

- the order is undocumented, so it is a choice (`ORDERS`): newest or oldest `CreateTime` first,
  ties by `TaskId` ascending, or a shuffle fixed per seed and TaskId (a new task lands anywhere);
- PageNum and PageSize are refused when missing: the docs give defaults (1, 20) but one doc
  version and the Go SDK mark both required, and a client must send both anyway;
- above 500 rows per page Volcengine's behaviour (error or silent clamp) is unconfirmed; the twin
  refuses, so a client that relies on a clamp finds out here;
- a filter set to "" filters nothing (the Go SDK omits empty strings);
- required fields are checked before unknown keys, so `{"TaskId": ...}` sent to
  GetPullRecordTask is refused as a missing `TaskID` (the twin matches key case exactly).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from pipeline.sandbox.log import Refusal

FIELDS = ("TaskId", "StartTime", "EndTime", "Vhost", "Domain", "App", "Stream", "Status")
FILTERS = ("Vhost", "Domain", "App", "Stream")
LIST_PARAMETERS = frozenset({"PageNum", "PageSize", *FILTERS})
GET_PARAMETERS = frozenset({"TaskID"})
DEFAULT_MAX_PAGE_SIZE = 500
GET_SHAPES = frozenset({"flat", "detail"})
ORDERS = frozenset({"newest_first", "oldest_first", "shuffled"})
BIND_ERROR = "Request parameter error, please check input data"

Task = Mapping[str, Any]


def ordering(order: str, seed: int = 0) -> Callable[[Task], tuple[Any, ...]]:
    """The sort key of one of `ORDERS`."""
    if order == "newest_first":
        return lambda task: (-task["CreateTime"], task["TaskId"])
    if order == "oldest_first":
        return lambda task: (task["CreateTime"], task["TaskId"])
    if order == "shuffled":
        return lambda task: (_scramble(seed, task["TaskId"]), task["TaskId"])
    raise ValueError(f"order must be one of {sorted(ORDERS)}, not {order!r}")


def list_pull_record_task(
    params: Mapping[str, Any],
    ordered: Iterable[Task],
    *,
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    omit: Collection[str] = (),
) -> dict[str, Any]:
    """One page of the matching tasks in list order, cut by position: the `Result`."""
    page_num = _integer(params, "PageNum", 1, None)
    page_size = _integer(params, "PageSize", 1, max_page_size)
    filters = {name: _string(params, name) for name in FILTERS if name in params}
    _refuse_unknown(params, LIST_PARAMETERS)
    wanted = {name: value for name, value in filters.items() if value}
    matching = [t for t in ordered if all(t.get(k) == v for k, v in wanted.items())]
    offset = (page_num - 1) * page_size
    shown = [f for f in FIELDS if f not in omit]
    return {
        "List": [project(task, shown) for task in matching[offset : offset + page_size]],
        "Pagination": {
            "PageCur": page_num,
            "PageSize": page_size,
            "PageTotal": math.ceil(len(matching) / page_size),
            "TotalCount": len(matching),
        },
    }


def get_pull_record_task(
    params: Mapping[str, Any], tasks: Mapping[str, Task], *, shape: str = "flat"
) -> dict[str, Any]:
    """The one task named by `TaskID`: a flat `Result` or `Result.TaskDetail`."""
    task_id = params.get("TaskID")
    if not isinstance(task_id, str) or not task_id:
        raise Refusal("InvalidParam", "`TaskID` is required and must be a non-empty string.")
    _refuse_unknown(params, GET_PARAMETERS)
    task = tasks.get(task_id)
    if task is None:
        raise Refusal("ResourceNotFound", f"The task `{task_id}` is not found.")
    detail = project(task, FIELDS)
    return {"TaskDetail": detail} if shape == "detail" else detail


def project(task: Task, fields: Iterable[str]) -> dict[str, Any]:
    """The documented fields a task carries; twin-only keys (CreateTime, UpdateTime) stay behind."""
    return {name: task[name] for name in fields if name in task}


def _integer(params: Mapping[str, Any], name: str, low: int, high: int | None) -> int:
    value = params.get(name)
    rule = f"an integer from {low} to {high}" if high else f"an integer of at least {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal("InvalidParam", f"`{name}` is required and must be {rule}.")
    if value < low or (high is not None and value > high):
        raise Refusal("InvalidParam", f"`{name}` must be {rule}.")
    return value


def _string(params: Mapping[str, Any], name: str) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise Refusal("InvalidParam", f"`{name}` must be a string.")
    return value


def _refuse_unknown(params: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise Refusal("InvalidParam.BindError", f"{BIND_ERROR}: unknown field `{unknown[0]}`.")


def _scramble(seed: int, task_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{task_id}".encode()).digest()
