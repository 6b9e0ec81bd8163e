"""A twin of Tencent Cloud Live API 3.0 on loopback, built from the vendor contract.

It enforces what Tencent documents (TC3 signatures over the received bytes, the 5-minute clock
rule, the DescribeRecordTask window rules, server-side ScrollToken paging, 20 requests/s) and
refuses the way Tencent does: HTTP 200 with `Response.Error`. Facts: shared/vendors/tencent.md.
"""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from pipeline.sandbox.faults import TRANSPORT_FAULTS, FaultKind, FaultPlan, transport_fault
from pipeline.sandbox.log import OK, Refusal, RequestLog, RequestRecord
from pipeline.sandbox.ratelimit import RateLimiter
from pipeline.sandbox.server import SandboxServer
from pipeline.vendors.tencent import signer
from pipeline.vendors.tencent.sandbox_record_tasks import describe_record_task

VERSION = "2018-08-01"
SERVICE = "live"
MAX_SKEW_SECONDS = 300
DEFAULT_RATES: Mapping[str, float] = {"DescribeRecordTask": 20}
REGIONS: Mapping[str, frozenset[str]] = {"DescribeRecordTask": frozenset({"ap-guangzhou"})}
_REQUIRED_SIGNED = frozenset({"content-type", "host"})
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/(?P<end>[^,\s]+), ?SignedHeaders=(?P<names>[^,\s]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)
_ENVELOPE_FAULTS: Mapping[FaultKind | None, tuple[str, str]] = {
    FaultKind.INTERNAL_ERROR: ("InternalError", "An internal error has occurred."),
    FaultKind.RATE_LIMIT: ("RequestLimitExceeded", "Your request frequency exceeds the limit."),
    FaultKind.SIGNATURE_EXPIRED: ("AuthFailure.SignatureExpire", "The signature has expired."),
}

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class TencentSandbox:
    """Tencent's Live API as a real HTTP server: rules, record tasks, faults and a request log."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        page_size: int = 100,
        rate_limits: Mapping[str, float] | None = None,
        faults: FaultPlan | None = None,
        monotonic: Callable[[], float] = time.monotonic,
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
        self.actions: dict[str, Handler] = {"DescribeRecordTask": self._describe_record_task}

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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        action = request.headers.get("X-TC-Action", "")
        params = _json_object(body)
        fault = self.faults.draw(action)
        if fault in _ENVELOPE_FAULTS:
            outcome, payload = str(fault), _error(*_ENVELOPE_FAULTS[fault])
        else:
            outcome, payload = self._answer(request, body, params)
        claimed = _claimed_id(request.headers.get("Authorization", ""))
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
            secret_id = self._authenticate(request, body)
            action, handler = self._route(request.headers)
            bucket = (secret_id, request.headers.get("X-TC-Region", ""))
            if not self.limiter.allow(action, bucket):
                raise Refusal("RequestLimitExceeded", "Your request frequency exceeds the limit.")
            if params is None:
                raise Refusal("InvalidParameter", "The request body is not a JSON object.")
            result = handler(params)
        except Refusal as refusal:
            return refusal.code, _error(refusal.code, refusal.message)
        return OK, {"Response": {**result, "RequestId": str(uuid.uuid4())}}

    def _authenticate(self, request: web.Request, body: bytes) -> str:
        """The caller's SecretId once its TC3 signature over the received bytes checks out."""
        match = _AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
        if match is None:
            raise Refusal("AuthFailure.InvalidAuthorization", "Authorization is malformed.")
        names = match["names"].split(";")
        if not _REQUIRED_SIGNED <= set(names):
            raise Refusal(
                "AuthFailure.InvalidAuthorization",
                "SignedHeaders must include content-type and host.",
            )
        secret_key = self._credentials.get(match["id"])
        if secret_key is None:
            raise Refusal("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = _timestamp(request.headers.get("X-TC-Timestamp"))
        if abs(self.clock() - timestamp) > MAX_SKEW_SECONDS:
            raise Refusal(
                "AuthFailure.SignatureExpire",
                "The signature has expired: X-TC-Timestamp is off by over 5 minutes.",
            )
        scope_ok = (match["date"], match["service"], match["end"]) == (
            signer.utc_date(timestamp),
            SERVICE,
            "tc3_request",
        )
        received = {name: request.headers.get(name) for name in names}
        if not scope_ok or any(value is None for value in received.values()):
            raise Refusal(
                "AuthFailure.SignatureFailure",
                "The credential scope or a signed header does not match the request.",
            )
        # Tencent lower-cases signed header values before building the canonical request.
        expected = signer.sign(
            secret_id=match["id"],
            secret_key=secret_key,
            service=SERVICE,
            timestamp=timestamp,
            signed_headers={name: str(value).lower() for name, value in received.items()},
            body=body,
            method=request.method,
            query=request.query_string,
        )
        if not hmac.compare_digest(expected.signature, match["signature"]):
            raise Refusal("AuthFailure.SignatureFailure", "The provided signature is invalid.")
        return match["id"]

    def _route(self, headers: Mapping[str, str]) -> tuple[str, Handler]:
        """The action and its handler, after the version and region checks."""
        if headers.get("X-TC-Version") != VERSION:
            raise Refusal("NoSuchVersion", f"Version must be {VERSION}.")
        action = headers.get("X-TC-Action", "")
        handler = self.actions.get(action)
        if handler is None:
            raise Refusal("InvalidAction", f"The action `{action}` does not exist.")
        region = headers.get("X-TC-Region", "")
        if action in REGIONS and region not in REGIONS[action]:
            raise Refusal("UnsupportedRegion", f"{action} does not support region `{region}`.")
        return action, handler

    def _describe_record_task(self, params: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.record_tasks.values(), key=lambda t: (t["StartTime"], t["TaskId"]))
        return describe_record_task(
            params, ordered, now=int(self.clock()), page_size=self.page_size
        )


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


def _timestamp(raw: str | None) -> int:
    if raw is None:
        raise Refusal("MissingParameter", "The X-TC-Timestamp header is missing.")
    if not raw.isascii() or not raw.isdigit():
        raise Refusal("InvalidParameterValue", "X-TC-Timestamp must be Unix seconds.")
    return int(raw)


def _claimed_id(authorization: str) -> str:
    """The SecretId a request claims, for the log (the key itself never leaves the twin)."""
    match = _AUTHORIZATION.fullmatch(authorization)
    return match["id"] if match else ""
