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
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.log import Refusal
from pipeline.sandbox.twin import Twin
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
_ENVELOPE_FAULTS: Mapping[FaultKind, tuple[str, str]] = {
    FaultKind.INTERNAL_ERROR: ("InternalError", "An internal error has occurred."),
    FaultKind.RATE_LIMIT: ("RequestLimitExceeded", "Your request frequency exceeds the limit."),
    FaultKind.SIGNATURE_EXPIRED: ("AuthFailure.SignatureExpire", "The signature has expired."),
}


class TencentSandbox(Twin):
    """Tencent's Live API as a real HTTP server: rules, record and relay tasks, faults, a log."""

    envelope_faults = _ENVELOPE_FAULTS
    not_an_object = ("InvalidParameter", "The request body is not a JSON object.")
    logs_fault_kind = True

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
        super().__init__(
            actions={
                "DescribeRecordTask": self._describe_record_task,
                "DescribeLivePullStreamTasks": self._describe_pull_tasks,
            },
            rates=DEFAULT_RATES if rate_limits is None else rate_limits,
            clock=clock,
            monotonic=monotonic,
            faults=faults,
        )
        self._credentials = dict(credentials)
        self.page_size = page_size
        self.record_tasks: dict[str, dict[str, Any]] = {}
        self.pull_tasks: dict[str, dict[str, Any]] = {}
        self.limit_task_num = limit_task_num
        """The account's relay-task quota, answered as `LimitTaskNum` (not enforced)."""
        self.token_epoch = 0
        """ScrollTokens issued in an earlier epoch are refused (their validity is undocumented)."""
        self.endless_tokens: Callable[[Mapping[str, Any]], bool] | None = None
        """Hostile: windows whose request it accepts never end. Every answer hands out a new
        ScrollToken and repeats the window's first page."""
        self.stuck_tokens = False
        """Hostile: a ScrollToken never advances. The answer to a request carrying one holds
        the next page and hands the same token back."""

    def add_record_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Store record tasks as CreateRecordTask would have (replacing equal TaskIds)."""
        for task in tasks:
            self.record_tasks[task["TaskId"]] = {"TemplateId": 0, "Stopped": 0, **task}

    def stop_record_task(self, task_id: str, at: int) -> None:
        """What StopRecordTask does: `Stopped` becomes the stop time."""
        self.record_tasks[task_id]["Stopped"] = at

    def expire_scroll_tokens(self) -> None:
        """Refuse every ScrollToken issued so far, as an expired token would be."""
        self.token_epoch += 1

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

    def rotate_push_secret(self, task_id: str) -> str:
        """A new push key signs the relay task again: `PushArgs` gets a new `txSecret` (its
        `txTime` stays) as ModifyLivePullStreamTask would set it. The new PushArgs."""
        expiry = parse_qs(self.pull_tasks[task_id].get("PushArgs") or "").get("txTime")
        txtime = expiry[0] if expiry else f"{int(self.clock()) + 86_400:x}"
        push_args = f"txSecret={uuid.uuid4().hex}&txTime={txtime}"
        self.update_pull_task(task_id, PushArgs=push_args)
        return push_args

    def delete_pull_task(self, task_id: str) -> None:
        """What DeleteLivePullStreamTask does: the task vanishes and later ones move up."""
        del self.pull_tasks[task_id]

    def _action(self, request: web.Request) -> str:
        return request.headers.get("X-TC-Action", "")

    def _account(self, request: web.Request) -> str:
        return claimed_id(request.headers.get("Authorization", ""))

    def _admit(self, request: web.Request, body: bytes) -> tuple[str, Hashable]:
        """The signature first, then the version, action and region; limited per key and region."""
        secret_id = authenticate(request, body, self._credentials, now=self.clock())
        action = self._route(request.headers)
        return action, (secret_id, request.headers.get("X-TC-Region", ""))

    def _route(self, headers: Mapping[str, str]) -> str:
        """The action, after the version, action and region checks."""
        if headers.get("X-TC-Version") != VERSION:
            raise Refusal("NoSuchVersion", f"Version must be {VERSION}.")
        action = headers.get("X-TC-Action", "")
        if action not in self.actions:
            raise Refusal("InvalidAction", f"The action `{action}` does not exist.")
        region = headers.get("X-TC-Region", "")
        if not region:
            raise Refusal("MissingParameter", "The X-TC-Region header is missing.")
        if action in REGIONS and region not in REGIONS[action]:
            raise Refusal("UnsupportedRegion", f"{action} does not support region `{region}`.")
        return action

    def _error(self, request: web.Request, code: str, message: str) -> tuple[int, dict[str, Any]]:
        # Tencent refuses with HTTP 200 and `Response.Error`.
        error = {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}
        return 200, {"Response": error}

    def _success(self, request: web.Request, result: dict[str, Any]) -> dict[str, Any]:
        return {"Response": {**result, "RequestId": str(uuid.uuid4())}}

    def _describe_record_task(self, params: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.record_tasks.values(), key=lambda t: (t["StartTime"], t["TaskId"]))
        endless = self.endless_tokens is not None and self.endless_tokens(params)
        if endless:
            params = {k: v for k, v in params.items() if k != "ScrollToken"}
        answer = describe_record_task(
            params, ordered, now=int(self.clock()), page_size=self.page_size, epoch=self.token_epoch
        )
        if endless:
            answer["ScrollToken"] = uuid.uuid4().hex
        if self.stuck_tokens and params.get("ScrollToken"):
            answer["ScrollToken"] = params["ScrollToken"]
        return answer

    def _describe_pull_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        tasks = self.pull_tasks.values()
        return describe_live_pull_stream_tasks(params, tasks, limit_task_num=self.limit_task_num)
