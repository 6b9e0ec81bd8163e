"""A twin of Tencent Cloud Live API 3.0 on loopback, built from the vendor contract.

It enforces what Tencent documents (TC3 signatures over the received bytes, the 5-minute clock
rule, the DescribeRecordTask window rules and ScrollToken paging at 20 requests/s, the relay list
of DescribeLivePullStreamTasks paged by position at 30 requests/s) and refuses the way Tencent
does: HTTP 200 with `Response.Error`. Facts: shared/vendors/tencent.md.

Changes during a scan: `on_request(action, n, callback)` runs `callback(sandbox)` just before the
n-th request to `action` that gets past the signature, routing and rate checks is answered, so a
test can update or delete tasks between two pages of one reader.
"""

from __future__ import annotations

import copy
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
from pipeline.vendors.tencent.sandbox_auth import authenticate, claimed_id
from pipeline.vendors.tencent.sandbox_pull_tasks import (
    DEFAULT_LIMIT_TASK_NUM,
    describe_live_pull_stream_tasks,
    iso_utc,
)
from pipeline.vendors.tencent.sandbox_record_tasks import describe_record_task

VERSION = "2018-08-01"
DEFAULT_RATES: Mapping[str, float] = {"DescribeRecordTask": 20, "DescribeLivePullStreamTasks": 30}
REGIONS: Mapping[str, frozenset[str]] = {"DescribeRecordTask": frozenset({"ap-guangzhou"})}
_ENVELOPE_FAULTS: Mapping[FaultKind | None, tuple[str, str]] = {
    FaultKind.INTERNAL_ERROR: ("InternalError", "An internal error has occurred."),
    FaultKind.RATE_LIMIT: ("RequestLimitExceeded", "Your request frequency exceeds the limit."),
    FaultKind.SIGNATURE_EXPIRED: ("AuthFailure.SignatureExpire", "The signature has expired."),
}

Handler = Callable[[dict[str, Any]], dict[str, Any]]
Hook = Callable[["TencentSandbox"], object]


class TencentSandbox:
    """Tencent's Live API as a real HTTP server: rules, record and relay tasks, faults, a log."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        page_size: int = 100,
        rate_limits: Mapping[str, float] | None = None,
        faults: FaultPlan | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        limit_task_num: int = DEFAULT_LIMIT_TASK_NUM,
    ) -> None:
        self._credentials = dict(credentials)
        self.clock = clock
        """Tencent's clock, Unix seconds: the 90-day rule and the timestamp check use it."""
        self.page_size = page_size
        self.limiter = RateLimiter(
            DEFAULT_RATES if rate_limits is None else rate_limits, clock=monotonic
        )
        self.faults = faults or FaultPlan.none()
        self.requests = RequestLog()
        self.record_tasks: dict[str, dict[str, Any]] = {}
        self.pull_tasks: dict[str, dict[str, Any]] = {}
        self.limit_task_num = limit_task_num
        """The account's relay-task quota, answered as `LimitTaskNum` (not enforced)."""
        self.actions: dict[str, Handler] = {
            "DescribeRecordTask": self._describe_record_task,
            "DescribeLivePullStreamTasks": self._describe_pull_tasks,
        }
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

    def add_record_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Store record tasks as CreateRecordTask would have (replacing equal TaskIds)."""
        for task in tasks:
            self.record_tasks[task["TaskId"]] = {"TemplateId": 0, "Stopped": 0, **task}

    def stop_record_task(self, task_id: str, at: int) -> None:
        """What StopRecordTask does: `Stopped` becomes the stop time."""
        self.record_tasks[task_id]["Stopped"] = at

    def delete_record_task(self, task_id: str) -> None:
        """What DeleteRecordTask does: the task vanishes from every list."""
        del self.record_tasks[task_id]

    def add_pull_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Store relay tasks as CreateLivePullStreamTask would have (replacing equal TaskIds)."""
        for task in tasks:
            created = task.get("CreateTime") or iso_utc(int(self.clock()))
            self.pull_tasks[task["TaskId"]] = copy.deepcopy(
                {"CreateTime": created, "UpdateTime": created, **task}
            )

    def update_pull_task(self, task_id: str, **fields: Any) -> None:
        """What ModifyLivePullStreamTask does: `UpdateTime` becomes now, moving the task first."""
        self.pull_tasks[task_id].update(fields, UpdateTime=iso_utc(int(self.clock())))

    def delete_pull_task(self, task_id: str) -> None:
        """What DeleteLivePullStreamTask does: the task vanishes and later ones move up."""
        del self.pull_tasks[task_id]

    def on_request(self, action: str, n: int, callback: Hook) -> None:
        """Run `callback(self)` just before answering the n-th handled request to `action`.

        Counted from 1 over the requests that reach the action's handler: refused signatures,
        rate-limited and envelope-faulted requests do not count; transport-faulted ones do (the
        server did the work, the answer was lost on the way).
        """
        self._hooks.setdefault((action, n), []).append(callback)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        action = request.headers.get("X-TC-Action", "")
        params = _json_object(body)
        fault = self.faults.draw(action)
        if fault in _ENVELOPE_FAULTS:
            outcome, payload = str(fault), _error(*_ENVELOPE_FAULTS[fault])
        else:
            outcome, payload = self._answer(request, body, params)
        claimed = claimed_id(request.headers.get("Authorization", ""))
        logged = str(fault) if fault else outcome
        self.requests.append(RequestRecord(action, params or {}, logged, self.clock(), claimed))
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if fault is not None and fault in TRANSPORT_FAULTS:
            slow = self.faults.slow_seconds
            return await transport_fault(request, fault, data, slow_seconds=slow)
        return web.Response(body=data, content_type="application/json")

    def _answer(
        self, request: web.Request, body: bytes, params: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """The outcome code and the envelope of a request that drew no envelope fault."""
        try:
            secret_id = authenticate(request, body, self._credentials, now=self.clock())
            action, handler = self._route(request.headers)
            bucket = (secret_id, request.headers.get("X-TC-Region", ""))
            if not self.limiter.allow(action, bucket):
                raise Refusal("RequestLimitExceeded", "Your request frequency exceeds the limit.")
            if params is None:
                raise Refusal("InvalidParameter", "The request body is not a JSON object.")
            self._handled[action] += 1
            for callback in self._hooks.pop((action, self._handled[action]), []):
                callback(self)
            result = handler(params)
        except Refusal as refusal:
            return refusal.code, _error(refusal.code, refusal.message)
        return OK, {"Response": {**result, "RequestId": str(uuid.uuid4())}}

    def _route(self, headers: Mapping[str, str]) -> tuple[str, Handler]:
        """The action and its handler, after the version and region checks."""
        if headers.get("X-TC-Version") != VERSION:
            raise Refusal("NoSuchVersion", f"Version must be {VERSION}.")
        action = headers.get("X-TC-Action", "")
        handler = self.actions.get(action)
        if handler is None:
            raise Refusal("InvalidAction", f"The action `{action}` does not exist.")
        region = headers.get("X-TC-Region", "")
        if not region:
            raise Refusal("MissingParameter", "The X-TC-Region header is missing.")
        if action in REGIONS and region not in REGIONS[action]:
            raise Refusal("UnsupportedRegion", f"{action} does not support region `{region}`.")
        return action, handler

    def _describe_record_task(self, params: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.record_tasks.values(), key=lambda t: (t["StartTime"], t["TaskId"]))
        return describe_record_task(
            params, ordered, now=int(self.clock()), page_size=self.page_size
        )

    def _describe_pull_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        tasks = self.pull_tasks.values()
        return describe_live_pull_stream_tasks(params, tasks, limit_task_num=self.limit_task_num)


def _error(code: str, message: str) -> dict[str, Any]:
    return {
        "Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}
    }


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None
