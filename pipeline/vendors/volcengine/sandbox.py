"""A twin of Volcengine Live OpenAPI 2023-01-01 on loopback, built from the vendor contract.

It serves `POST /?Action=...&Version=2023-01-01` for ListPullRecordTask and GetPullRecordTask and
enforces what Volcengine documents: HMAC-SHA256 signatures over the received bytes, X-Date within
900 s (or `X-Expires`), 50 and 10 requests/s per AccessKeyId, a list paged by position. It refuses
the way Volcengine does: `ResponseMetadata.Error` without `Result`, at the HTTP status of the
contract's tables, except `CommonErr`, which comes with HTTP 200 (trap 13). Facts:
shared/vendors/volcengine.md.

Routing comes before the signature check: a request without Action or Version, or for an API the
twin does not serve, is refused whatever its signature.

Changes during a scan: `on_request(action, n, callback)` runs `callback(sandbox)` just before the
n-th request to `action` that gets past the routing, signature and rate checks is answered.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.log import Refusal
from pipeline.sandbox.twin import Twin
from pipeline.vendors.volcengine import signer
from pipeline.vendors.volcengine.sandbox_auth import authenticate, claimed_id
from pipeline.vendors.volcengine.sandbox_tasks import (
    BIND_ERROR,
    DEFAULT_MAX_PAGE_SIZE,
    GET_SHAPES,
    get_pull_record_task,
    list_pull_record_task,
    ordering,
)

VERSION = "2023-01-01"
DEFAULT_RATES: Mapping[str, float] = {"ListPullRecordTask": 50, "GetPullRecordTask": 10}
# HTTP status and CodeN of each code the twin answers; CodeN only where the contract gives one.
ERRORS: Mapping[str, tuple[int, int | None]] = {
    "CommonErr": (200, None),
    "InvalidParam": (400, None),
    "InvalidParam.BindError": (400, None),
    "MissingParameter": (400, 100002),
    "MissingRequestInfo": (400, 100004),
    "InvalidTimestamp": (400, 100006),
    "InvalidAccessKey": (401, 100009),
    "SignatureDoesNotMatch": (401, 100010),
    "ResourceNotFound": (404, None),
    "InvalidActionOrVersion": (404, 100008),
    "FlowLimitExceeded": (429, 100018),
    "InternalError": (500, 100014),
}
_ENVELOPE_FAULTS: Mapping[FaultKind, tuple[str, str]] = {
    FaultKind.INTERNAL_ERROR: ("CommonErr", "Unclassified error, please retry."),
    FaultKind.RATE_LIMIT: ("FlowLimitExceeded", "Flow limit exceeded, please retry later."),
    FaultKind.SIGNATURE_EXPIRED: ("InvalidTimestamp", "The signature has expired."),
}
_BEIJING = timezone(timedelta(hours=8))


class VolcengineSandbox(Twin):
    """Volcengine's Live OpenAPI as a real HTTP server: pull-record tasks, faults, a log."""

    envelope_faults = _ENVELOPE_FAULTS
    not_an_object = ("InvalidParam.BindError", f"{BIND_ERROR}: the body is not an object.")
    charset = "utf-8"

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rate_limits: Mapping[str, float] | None = None,
        faults: FaultPlan | None = None,
        order: str = "newest_first",
        shuffle_seed: int = 0,
        list_omits: frozenset[str] = frozenset(),
        get_shape: str = "flat",
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    ) -> None:
        ordering(order, shuffle_seed)  # refuses an unknown order now rather than per request
        if get_shape not in GET_SHAPES:
            raise ValueError(f"get_shape must be one of {sorted(GET_SHAPES)}, not {get_shape!r}")
        super().__init__(
            actions={"ListPullRecordTask": self._list, "GetPullRecordTask": self._get},
            rates=DEFAULT_RATES if rate_limits is None else rate_limits,
            clock=clock,
            monotonic=monotonic,
            faults=faults,
        )
        self._credentials = dict(credentials)
        self.order = order
        self.shuffle_seed = shuffle_seed
        self.list_omits = list_omits
        """Fields left out of ListPullRecordTask items (GetPullRecordTask still has them)."""
        self.get_shape = get_shape
        """"flat" (the doc pages' `Result`) or "detail" (the Go SDK's `Result.TaskDetail`)."""
        self.max_page_size = max_page_size
        self.tasks: dict[str, dict[str, Any]] = {}

    def add_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Store tasks as CreatePullRecordTask would have (replacing equal TaskIds).

        Time strings and Status are kept verbatim; a hidden `CreateTime` (Unix seconds, for the
        list order) defaults to the clock's now, `UpdateTime` to `CreateTime`.
        """
        for task in tasks:
            record = copy.deepcopy(dict(task))
            record.setdefault("CreateTime", int(self.clock()))
            record.setdefault("UpdateTime", record["CreateTime"])
            self.tasks[record["TaskId"]] = record

    def update_task(self, task_id: str, **fields: Any) -> None:
        """Change a task's fields (e.g. `Status="停用"`); its hidden `UpdateTime` becomes now."""
        self.tasks[task_id].update({"UpdateTime": int(self.clock()), **fields})

    def delete_task(self, task_id: str) -> None:
        """What DeletePullRecordTask does: the task vanishes and later ones move up."""
        del self.tasks[task_id]

    def ordered_tasks(self) -> list[dict[str, Any]]:
        """Every stored task in the order the list answers them."""
        return sorted(self.tasks.values(), key=ordering(self.order, self.shuffle_seed))

    def _action(self, request: web.Request) -> str:
        return request.query.get("Action", "")

    def _account(self, request: web.Request) -> str:
        return claimed_id(request.headers.get("Authorization", ""))

    def _admit(self, request: web.Request, body: bytes) -> tuple[str, Hashable]:
        """Routing before the signature; limited per AccessKeyId."""
        action = self._route(request)
        return action, authenticate(request, body, self._credentials, now=self.clock())

    def _route(self, request: web.Request) -> str:
        """The action; Action and Version count only in the query."""
        for name in ("Action", "Version"):
            if not request.query.get(name):
                raise Refusal("MissingParameter", f"The query parameter `{name}` is missing.")
        action, version = request.query["Action"], request.query["Version"]
        if action not in self.actions or version != VERSION:
            raise Refusal(
                "InvalidActionOrVersion",
                f"Could not find operation {action} for version {version}.",
            )
        return action

    def _error(self, request: web.Request, code: str, message: str) -> tuple[int, dict[str, Any]]:
        """`ResponseMetadata.Error` without `Result`, at the HTTP status of the contract."""
        status, code_n = ERRORS[code]
        error = {"CodeN": code_n} if code_n is not None else {}
        metadata = self._metadata(request)
        return status, {
            "ResponseMetadata": {**metadata, "Error": {**error, "Code": code, "Message": message}}
        }

    def _success(self, request: web.Request, result: dict[str, Any]) -> dict[str, Any]:
        return {"ResponseMetadata": self._metadata(request), "Result": result}

    def _metadata(self, request: web.Request) -> dict[str, str]:
        stamp = datetime.fromtimestamp(self.clock(), _BEIJING).strftime("%Y%m%d%H%M%S")
        return {
            "RequestId": stamp + uuid.uuid4().hex[:19].upper(),
            "Action": request.query.get("Action", ""),
            "Version": request.query.get("Version", ""),
            "Service": signer.SERVICE,
            "Region": signer.REGION,
        }

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        return list_pull_record_task(
            params, self.ordered_tasks(), max_page_size=self.max_page_size, omit=self.list_omits
        )

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        return get_pull_record_task(params, self.tasks, shape=self.get_shape)
