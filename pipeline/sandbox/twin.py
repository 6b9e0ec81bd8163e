"""The request cycle every vendor twin shares: faults, rate limits, hooks, the log, serving.

A twin subclasses `Twin` and keeps only its vendor's rules: where a request names its action and
its caller (`_action`, `_account`), the gateway checks (`_admit`: signature, routing, region),
the two envelopes (`_error`, `_success`), the answers to injected envelope faults
(`envelope_faults`) and its stores and handlers (`actions`). `Twin` runs the cycle the same way
for every vendor:

    read body -> draw fault -> envelope fault?  -> vendor error envelope
                            -> else: _admit -> rate limit -> JSON object? -> hooks -> handler
              -> log the request -> transport fault? -> answer
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from typing import Any, ClassVar, Self

from aiohttp import web

from pipeline.sandbox.faults import TRANSPORT_FAULTS, FaultKind, FaultPlan, transport_fault
from pipeline.sandbox.hostile import dumps
from pipeline.sandbox.log import OK, Refusal, RequestLog, RequestRecord
from pipeline.sandbox.ratelimit import RateLimiter
from pipeline.sandbox.server import SandboxServer

Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""One action of a twin: the request's JSON object in, the vendor's result out (or Refusal)."""


class Twin:
    """A vendor twin's shared machinery; subclasses supply the vendor's rules."""

    envelope_faults: ClassVar[Mapping[FaultKind, tuple[str | int, str]]]
    """Error code and message answered for each envelope fault; RATE_LIMIT's also for real ones."""
    not_an_object: ClassVar[tuple[str | int, str]]
    """Error code and message answered when the body is not a JSON object."""
    charset: ClassVar[str | None] = None
    """The charset named in the Content-Type of answers, if the vendor names one."""
    logs_fault_kind: ClassVar[bool] = False
    """Log a transport-faulted request as the fault's kind, not as the lost answer's outcome."""

    def __init__(
        self,
        *,
        actions: Mapping[str, Handler],
        rates: Mapping[str, float],
        clock: Callable[[], float],
        monotonic: Callable[[], float],
        faults: FaultPlan | None,
    ) -> None:
        self.clock = clock
        """The vendor's clock, Unix seconds: signature checks, window rules and new tasks use it."""
        self.limiter = RateLimiter(rates, clock=monotonic)
        self.faults = faults or FaultPlan.none()
        self.requests = RequestLog()
        self.actions: dict[str, Handler] = dict(actions)
        self._hooks: dict[tuple[str, int], list[Callable[[Self], object]]] = {}
        self._handled: Counter[str] = Counter()

    def make_app(self) -> web.Application:
        """A fresh aiohttp application serving `POST /`."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        return app

    def serve(self) -> SandboxServer:
        """A loopback server for this twin, to use as `async with sandbox.serve() as server`."""
        return SandboxServer(self.make_app())

    def on_request(self, action: str, n: int, callback: Callable[[Self], object]) -> None:
        """Run `callback(self)` just before answering the n-th handled request to `action`.

        Counted from 1 over the requests that reach the action's handler: requests the vendor's
        checks refuse, rate-limited, unparsable and envelope-faulted requests do not count;
        transport-faulted ones do (the server did the work, the answer was lost on the way).
        """
        self._hooks.setdefault((action, n), []).append(callback)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        action = self._action(request)
        params = _json_object(body)
        fault = self.faults.draw(action)
        if fault is not None and fault in self.envelope_faults:
            code, message = self.envelope_faults[fault]
            outcome, (status, payload) = str(fault), self._error(request, str(code), message)
        else:
            outcome, status, payload = self._answer(request, body, params)
        if fault is not None and self.logs_fault_kind:
            outcome = str(fault)
        account = self._account(request)
        self.requests.append(RequestRecord(action, params or {}, outcome, self.clock(), account))
        data = dumps(payload)  # a hostile payload's RawJson values go out verbatim
        if fault is not None and fault in TRANSPORT_FAULTS:
            plan = self.faults
            return await transport_fault(
                request, fault, data,
                slow_seconds=plan.slow_seconds, oversize_bytes=plan.oversize_bytes,
                redirect_to=plan.redirect_to,
            )  # fmt: skip
        return web.Response(
            status=status, body=data, content_type="application/json", charset=self.charset
        )

    def _answer(
        self, request: web.Request, body: bytes, params: dict[str, Any] | None
    ) -> tuple[str, int, dict[str, Any]]:
        """The outcome, HTTP status and envelope of a request that drew no envelope fault."""
        try:
            action, key = self._admit(request, body)
            if not self.limiter.allow(action, key):
                # A real rate limit is answered exactly like the injected one.
                raise _refusal(self.envelope_faults[FaultKind.RATE_LIMIT])
            if params is None:
                raise _refusal(self.not_an_object)
            self._handled[action] += 1
            for callback in self._hooks.pop((action, self._handled[action]), []):
                callback(self)
            result = self.actions[action](params)
        except Refusal as refusal:
            return (refusal.code, *self._error(request, refusal.code, refusal.message))
        return OK, 200, self._success(request, result)

    def _action(self, request: web.Request) -> str:
        """The action the request names, before any check (for faults and the log)."""
        raise NotImplementedError

    def _account(self, request: web.Request) -> str:
        """The public key id the request claims, before any check (for the log)."""
        raise NotImplementedError

    def _admit(self, request: web.Request, body: bytes) -> tuple[str, Hashable]:
        """The vendor's gateway checks: the routed action and its rate-limit key, or Refusal."""
        raise NotImplementedError

    def _error(self, request: web.Request, code: str, message: str) -> tuple[int, dict[str, Any]]:
        """The HTTP status and the vendor's error envelope for `code`."""
        raise NotImplementedError

    def _success(self, request: web.Request, result: dict[str, Any]) -> dict[str, Any]:
        """The vendor's envelope around a handler's `result`."""
        raise NotImplementedError


def _refusal(answer: tuple[str | int, str]) -> Refusal:
    code, message = answer
    return Refusal(str(code), message)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None
