"""DescribeRecordTask as Tencent's server answers it: window rules, containment, ScrollToken.

Where the contract is silent (bounds inclusive, order, page size, a span of exactly one week,
future windows) the twin picks the reading stated in the brief and says so here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.sandbox.log import Refusal

DAY = 86_400
MAX_SPAN_SECONDS = 7 * DAY
LOOKBACK_SECONDS = 90 * DAY
FILTERS = ("StreamName", "DomainName", "AppName")
PARAMETERS = frozenset({"StartTime", "EndTime", "ScrollToken", *FILTERS})


def describe_record_task(
    params: Mapping[str, Any],
    ordered: Sequence[Mapping[str, Any]],
    *,
    now: int,
    page_size: int,
    epoch: int = 0,
) -> dict[str, Any]:
    """One page of the tasks lying wholly inside the window; `ordered` by (StartTime, TaskId).

    Tokens carry the `epoch` they were issued in; one from another epoch has expired.
    """
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise Refusal("UnknownParameter", f"The parameter `{unknown[0]}` is not recognized.")
    start, end = _window(params, now)
    filters = _filters(params)
    query = _fingerprint(start, end, filters)
    after = _read_token(params.get("ScrollToken", ""), query, epoch)
    matching = [
        task
        for task in ordered
        if start <= task["StartTime"]
        and task["EndTime"] <= end
        and all(task.get(name) == value for name, value in filters.items())
        and (after is None or _position(task) > after)
    ]
    page = matching[:page_size]
    more = len(matching) > page_size
    return {
        "TaskList": [dict(task) for task in page],
        "ScrollToken": _make_token(query, _position(page[-1]), epoch) if more else "",
    }


def _window(params: Mapping[str, Any], now: int) -> tuple[int, int]:
    """StartTime and EndTime after every documented check."""
    start, end = _seconds(params, "StartTime"), _seconds(params, "EndTime")
    if end <= start:
        raise Refusal("InvalidParameter", "EndTime must be greater than StartTime.")
    if end - start > MAX_SPAN_SECONDS:
        raise Refusal("InvalidParameter", "The query time span must not exceed one week.")
    oldest = now - LOOKBACK_SECONDS
    if start < oldest or end < oldest:
        raise Refusal(
            "InvalidParameter", "StartTime and EndTime must not be earlier than 90 days before now."
        )
    return start, end


def _seconds(params: Mapping[str, Any], name: str) -> int:
    if name not in params:
        raise Refusal("MissingParameter", f"The parameter `{name}` is missing.")
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Refusal("InvalidParameterValue", f"`{name}` must be Unix seconds (an integer).")
    return value


def _filters(params: Mapping[str, Any]) -> dict[str, str]:
    for name in (*FILTERS, "ScrollToken"):
        if name in params and not isinstance(params[name], str):
            raise Refusal("InvalidParameterValue", f"`{name}` must be a string.")
    return {name: params[name] for name in FILTERS if params.get(name)}


def _position(task: Mapping[str, Any]) -> tuple[int, str]:
    return task["StartTime"], task["TaskId"]


def _fingerprint(start: int, end: int, filters: Mapping[str, str]) -> str:
    """Ties a token to one query: the window and the filters."""
    query = json.dumps([start, end, sorted(filters.items())], separators=(",", ":"))
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]


def _make_token(query: str, after: tuple[int, str], epoch: int) -> str:
    # The next page starts at the record after the last one returned, as Tencent's doc says.
    raw = json.dumps({"q": query, "after": list(after), "e": epoch}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")


def _read_token(token: str, query: str, epoch: int) -> tuple[int, str] | None:
    """The position a token continues from; None for a first page."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        start, task_id = data["after"]
        issued_for, issued_in = data["q"], data["e"]
    except (ValueError, KeyError, TypeError):
        raise Refusal("InvalidParameter", "ScrollToken is invalid.") from None
    if issued_in != epoch:
        raise Refusal("InvalidParameter", "ScrollToken has expired.")
    if not isinstance(start, int) or not isinstance(task_id, str):
        raise Refusal("InvalidParameter", "ScrollToken is invalid.")
    if issued_for != query:
        raise Refusal(
            "InvalidParameter", "ScrollToken belongs to another query: keep the window and filters."
        )
    return start, task_id
