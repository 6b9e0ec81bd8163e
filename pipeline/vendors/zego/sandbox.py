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

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from pipeline.sandbox.faults import TRANSPORT_FAULTS, FaultKind, FaultPlan, transport_fault
from pipeline.sandbox.log import OK, Refusal, RequestLog, RequestRecord
from pipeline.sandbox.ratelimit import RateLimiter
from pipeline.sandbox.server import SandboxServer
from pipeline.vendors.zego.sandbox_auth import (
    SIGNATURE_EXPIRED,
    check_gateway,
    claimed_app_id,
    refusal,
)
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
_RATE_MESSAGE = "Request rate over the limit: check the QPS limit of the API."
_ENVELOPE_FAULTS: Mapping[FaultKind | None, tuple[int, str]] = {
    FaultKind.INTERNAL_ERROR: (SYSTEM_ERROR, "System error."),
    FaultKind.RATE_LIMIT: (RATE_LIMITED, _RATE_MESSAGE),
    FaultKind.SIGNATURE_EXPIRED: (SIGNATURE_EXPIRED, "Signature expired."),
}

Handler = Callable[[dict[str, Any]], dict[str, Any]]
Hook = Callable[["ZegoSandbox"], object]


class ZegoSandbox:
    """ZEGO's DescribeTasks as a real HTTP server: rules, recording tasks, faults, a log."""

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
        self._credentials = dict(credentials)
        self.clock = clock
        """ZEGO's clock, Unix seconds: the 3-day rule and the 10-minute signature check use it."""
        self.limiter = RateLimiter(
            DEFAULT_RATES if rate_limits is None else rate_limits, clock=monotonic
        )
        self.faults = faults or FaultPlan.none()
        self.list_key = list_key
        self.page_size_max = page_size_max
        self.requests = RequestLog()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.actions: dict[str, Handler] = {"DescribeTasks": self._describe_tasks}
        self._hooks: dict[tuple[str, int], list[Hook]] = {}
        self._handled: Counter[str] = Counter()

    def make_app(self) -> web.Application:
        """A fresh aiohttp application serving `POST /`."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        return app

    def serve(self) -> SandboxServer:
        """A loopback server for this twin, to use as `async with sandbox.serve() as server`."""
        return SandboxServer(self.make_app())

    def add_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Store tasks as StartRecord would have (replacing equal TaskIds).

        Each holds `TaskId`, `RoomId`, `RecordBeginTimestamp` (Unix ms) and `Status` (1..5).
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

    def on_request(self, action: str, n: int, callback: Hook) -> None:
        """Run `callback(self)` just before answering the n-th handled request to `action`.

        Counted from 1 over the requests that reach the action's handler: gateway refusals,
        rate-limited, unparsable and envelope-faulted requests do not count; transport-faulted
        ones do (the server did the work, the answer was lost on the way).
        """
        self._hooks.setdefault((action, n), []).append(callback)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        query = request.query
        action = query.get("Action", "")
        params = _json_object(body)
        fault = self.faults.draw(action)
        if fault in _ENVELOPE_FAULTS:
            outcome, payload = str(fault), _envelope(*_ENVELOPE_FAULTS[fault])
        else:
            outcome, payload = self._answer(query, params)
        record = RequestRecord(action, params or {}, outcome, self.clock(), claimed_app_id(query))
        self.requests.append(record)
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if fault is not None and fault in TRANSPORT_FAULTS:
            slow = self.faults.slow_seconds
            return await transport_fault(request, fault, data, slow_seconds=slow)
        return web.Response(body=data, content_type="application/json", charset="utf-8")

    def _answer(
        self, query: Mapping[str, str], params: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """The outcome and the envelope of a request that drew no envelope fault."""
        try:
            action, app_id = check_gateway(query, self.actions, self._credentials, now=self.clock())
            if not self.limiter.allow(action, app_id):
                raise refusal(RATE_LIMITED, _RATE_MESSAGE)
            if params is None:
                raise refusal(INVALID_PARAMETER, "The request body is not a JSON object.")
            self._handled[action] += 1
            for callback in self._hooks.pop((action, self._handled[action]), []):
                callback(self)
            data = self.actions[action](params)
        except Refusal as refused:
            return refused.code, _envelope(int(refused.code), refused.message)
        return OK, {**_envelope(0, "succeed"), "Data": data}

    def _describe_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        return describe_tasks(
            params,
            self.tasks.values(),
            now_ms=int(self.clock() * 1000),
            list_key=self.list_key,
            page_size_max=self.page_size_max,
        )


def _envelope(code: int, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, "RequestId": uuid.uuid4().hex}


def _check_status(status: object) -> None:
    if status not in TASK_STATUSES or isinstance(status, bool):
        raise ValueError(f"a task's Status is 1..5, not {status!r}")


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None
