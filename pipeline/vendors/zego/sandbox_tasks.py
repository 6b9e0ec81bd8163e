"""DescribeTasks as the twin answers it: the 3-day window rules, page numbers, the status filter.

Every request pages the list as it stands at that moment, `(PageOffset - 1) * PageSize` records
in, so a task moving from recording to ended while a client reads shifts the recording list
(trap 24). Where the contract is silent the twin reads it this way:

- filter `Status` 2 ("recording") returns per-task statuses 1, 2 and 5, filter 3 ("ended")
  returns 3 and 4 (the contract's inferred mapping);
- both window bounds are inclusive; tasks come newest `RecordBeginTimestamp` first (as in ZEGO's
  example), ties by `TaskId` ascending;
- nothing older than now - 3 days is ever listed: `StartTime` may not reach further back, so a
  value in seconds (below 10^12) is refused as too old;
- `PageSize` 0 is refused (the docs say greater than 0), unlike `PageOffset` 0, which means 1;
- an empty `RoomId` filters nothing; parameters the contract does not list are refused, so a
  misspelt `Pageoffset` shows up instead of silently reading page 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.vendors.zego.sandbox_auth import refusal

INVALID_PARAMETER = 300000004
DAY_MS = 86_400_000
MAX_SPAN_MS = 3 * DAY_MS
LOOKBACK_MS = 3 * DAY_MS
DEFAULT_PAGE_SIZE = 50
# Which per-task statuses (1 initialized, 2 recording, 3 ended, 4 failed, 5 paused) each filter
# value lists. Inferred: ZEGO does not say where 1, 4 and 5 go.
FILTERS: Mapping[int, frozenset[int]] = {2: frozenset({1, 2, 5}), 3: frozenset({3, 4})}
LIST_KEYS = frozenset({"TaskidList", "TaskList", "none"})
PARAMETERS = frozenset({"Status", "RoomId", "PageOffset", "PageSize", "StartTime", "EndTime"})
ITEM_FIELDS = ("RecordBeginTimestamp", "TaskId", "RoomId", "Status")
_INT64 = (-(2**63), 2**63 - 1)


def describe_tasks(
    params: Mapping[str, Any],
    tasks: Iterable[Mapping[str, Any]],
    *,
    now_ms: int,
    list_key: str = "TaskidList",
    page_size_max: int = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """The `Data` of one DescribeTasks page over the tasks as they stand now."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise _invalid(f"Unknown parameter `{unknown[0]}`.")
    statuses = _status_filter(params)
    start, end = _window(params, now_ms)
    page = _integer(params, "PageOffset", 0) or 1
    if page < 1:
        raise _invalid("PageOffset must be a page number from 1 (0 or omitted means 1).")
    size = _integer(params, "PageSize", min(DEFAULT_PAGE_SIZE, page_size_max))
    if not 1 <= size <= page_size_max:
        raise _invalid(f"PageSize must be from 1 to {page_size_max}.")
    room = _room(params)
    matching = sorted(
        (
            task
            for task in tasks
            if start <= task["RecordBeginTimestamp"] <= end
            and task["Status"] in statuses
            and (not room or task["RoomId"] == room)
        ),
        key=lambda task: (-task["RecordBeginTimestamp"], task["TaskId"]),
    )
    data: dict[str, Any] = {"PageOffset": page, "PageSize": size, "TotalCount": len(matching)}
    if list_key != "none":
        offset = (page - 1) * size
        data[list_key] = [_item(task) for task in matching[offset : offset + size]]
    return data


def _status_filter(params: Mapping[str, Any]) -> frozenset[int]:
    if "Status" not in params:
        raise _invalid("Status is required: 2 (recording) or 3 (ended).")
    status = _integer(params, "Status", 0)
    if status not in FILTERS:
        raise _invalid(f"Status must be 2 (recording) or 3 (ended), not {status}.")
    return FILTERS[status]


def _window(params: Mapping[str, Any], now_ms: int) -> tuple[int, int]:
    """StartTime and EndTime (Unix milliseconds) after every documented check."""
    for name in ("StartTime", "EndTime"):
        if name not in params:
            raise _invalid(f"{name} is required (Unix milliseconds).")
    start, end = _integer(params, "StartTime", 0), _integer(params, "EndTime", 0)
    if end <= start:
        raise _invalid("EndTime must be later than StartTime.")
    if end - start > MAX_SPAN_MS:
        raise _invalid("EndTime - StartTime must not exceed 3 days (259200000 ms).")
    if start < now_ms - LOOKBACK_MS:
        raise _invalid("StartTime must not be earlier than 3 days before now (Unix milliseconds).")
    return start, end


def _integer(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not _INT64[0] <= value <= _INT64[1]:
        raise _invalid(f"{name} must be an integer.")
    return value


def _room(params: Mapping[str, Any]) -> str:
    room = params.get("RoomId", "")
    if not isinstance(room, str):
        raise _invalid("RoomId must be a string.")
    return room


def _item(task: Mapping[str, Any]) -> dict[str, Any]:
    return {name: task[name] for name in ITEM_FIELDS}


def _invalid(message: str) -> Exception:
    return refusal(INVALID_PARAMETER, message)
