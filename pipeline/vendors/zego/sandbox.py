"""A twin of ZEGO's cloud-recording server API on loopback, built from the vendor contract.

It serves `POST /?Action=DescribeTasks&AppId=..&SignatureNonce=..&Timestamp=..&Signature=..
&SignatureVersion=2.0` with a JSON body and enforces what ZEGO documents: the md5 signature and
the 10-minute clock rule (sandbox_auth.py), 10 requests/s per AppId and action, the 3-day
window rules and page numbers from 1 (sandbox_tasks.py). Every answer is HTTP 200 with
`{"Code", "Message", "RequestId"}` and `Data` on success: ZEGO does not document the HTTP status
of failures, so the twin puts every failure in `Code`. Facts: shared/vendors/zego.md.

`list_key` names the task array: `TaskidList` (the current schema), `TaskList` (an older table)
or `none`, which sends no array at all even when `TotalCount` > 0 (trap 21).

Changes during a scan: `on_request(action, n, callback)` runs `callback(sandbox)` just before the
n-th request to `action` that gets past the gateway and rate checks is answered.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from aiohttp import web

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.twin import Twin
from pipeline.vendors.zego.sandbox_auth import SIGNATURE_EXPIRED, check_gateway, claimed_app_id
from pipeline.vendors.zego.sandbox_tasks import (
    DEFAULT_PAGE_SIZE,
    INVALID_PARAMETER,
    LIST_KEYS,
    describe_tasks,
)

DEFAULT_RATES: Mapping[str, float] = {"DescribeTasks": 10}
RATE_LIMITED = 300000003
SYSTEM_ERROR = 300010000
TASK_FIELDS = frozenset({"TaskId", "RoomId", "RecordBeginTimestamp", "Status"})
TASK_STATUSES = frozenset({1, 2, 3, 4, 5})
UNENDED = frozenset({1, 2, 5})
_RATE_MESSAGE = "Request rate over the limit: check the QPS limit of the API."
_ENVELOPE_FAULTS: Mapping[FaultKind, tuple[int, str]] = {
    FaultKind.INTERNAL_ERROR: (SYSTEM_ERROR, "System error."),
    FaultKind.RATE_LIMIT: (RATE_LIMITED, _RATE_MESSAGE),
    FaultKind.SIGNATURE_EXPIRED: (SIGNATURE_EXPIRED, "Signature expired."),
}


class ZegoSandbox(Twin):
    """ZEGO's DescribeTasks as a real HTTP server: rules, recording tasks, faults, a log."""

    envelope_faults = _ENVELOPE_FAULTS
    not_an_object = (INVALID_PARAMETER, "The request body is not a JSON object.")
    charset = "utf-8"

    def __init__(
        self,
        *,
        credentials: Mapping[int, str],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rate_limits: Mapping[str, float] | None = None,
        faults: FaultPlan | None = None,
        list_key: str = "TaskidList",
        page_size_max: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if list_key not in LIST_KEYS:
            raise ValueError(f"list_key must be one of {sorted(LIST_KEYS)}, not {list_key!r}")
        super().__init__(
            actions={"DescribeTasks": self._describe_tasks},
            rates=DEFAULT_RATES if rate_limits is None else rate_limits,
            clock=clock,
            monotonic=monotonic,
            faults=faults,
        )
        self._credentials = dict(credentials)
        self.list_key = list_key
        self.page_size_max = page_size_max
        self.tasks: dict[str, dict[str, Any]] = {}
        self.inflated_total = 0
        """Hostile: added to every `TotalCount`, so the list claims pages it does not have."""

    def add_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Store tasks as StartRecord would have (replacing equal TaskIds).

        Each holds `TaskId`, `RoomId`, `RecordBeginTimestamp` (Unix ms) and `Status` (1..5), and
        may hold `EndsAt` (Unix ms, never listed): when the twin's clock reaches it, a task
        still 1, 2 or 5 ends (3), however long it has recorded. ZEGO's documented cap (48 h,
        24 h before 2026-01-08) is not enforced: a vendor's rule can change under a client.
        """
        for task in tasks:
            missing = TASK_FIELDS - set(task)
            if missing:
                raise ValueError(f"task {task.get('TaskId')!r} lacks {sorted(missing)}")
            _check_status(task["Status"])
            self.tasks[task["TaskId"]] = dict(task)

    def set_status(self, task_id: str, status: int) -> None:
        """A task's own status changes, e.g. 2 -> 3 when StopRecord ends it."""
        _check_status(status)
        self.tasks[task_id]["Status"] = status

    def _action(self, request: web.Request) -> str:
        return request.query.get("Action", "")

    def _account(self, request: web.Request) -> str:
        return claimed_app_id(request.query)

    def _admit(self, request: web.Request, body: bytes) -> tuple[str, Hashable]:
        """The gateway's checks of the query (sandbox_auth.py); limited per AppId."""
        return check_gateway(request.query, self.actions, self._credentials, now=self.clock())

    def _error(self, request: web.Request, code: str, message: str) -> tuple[int, dict[str, Any]]:
        # ZEGO documents no HTTP status for failures: every answer is 200, the failure in `Code`.
        return 200, _envelope(int(code), message)

    def _success(self, request: web.Request, result: dict[str, Any]) -> dict[str, Any]:
        return {**_envelope(0, "succeed"), "Data": result}

    def _describe_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        self._end_due(int(self.clock() * 1000))
        data = describe_tasks(
            params,
            self.tasks.values(),
            now_ms=int(self.clock() * 1000),
            list_key=self.list_key,
            page_size_max=self.page_size_max,
        )
        data["TotalCount"] += self.inflated_total
        return data

    def _end_due(self, now_ms: int) -> None:
        for task in self.tasks.values():
            if task.get("EndsAt", now_ms + 1) <= now_ms and task["Status"] in UNENDED:
                task["Status"] = 3


def _envelope(code: int, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, "RequestId": uuid.uuid4().hex}


def _check_status(status: object) -> None:
    if status not in TASK_STATUSES or isinstance(status, bool):
        raise ValueError(f"a task's Status is 1..5, not {status!r}")
