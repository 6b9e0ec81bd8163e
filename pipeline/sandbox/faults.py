"""Scripted or seeded faults a vendor twin injects, and the transport-level ones applied here.

Envelope faults (INTERNAL_ERROR, RATE_LIMIT, SIGNATURE_EXPIRED) are answered by each vendor twin
in its own error envelope; the transport faults below look the same for every vendor.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Iterable
from enum import StrEnum

from aiohttp import web


class FaultKind(StrEnum):
    """One way an answer can go wrong."""

    HTTP_5XX = "http_5xx"
    INTERNAL_ERROR = "internal_error"
    RATE_LIMIT = "rate_limit"
    RESET = "reset"
    SLOW = "slow"
    TRUNCATED = "truncated"
    INVALID_JSON = "invalid_json"
    SIGNATURE_EXPIRED = "signature_expired"


TRANSPORT_FAULTS = frozenset(
    {
        FaultKind.HTTP_5XX,
        FaultKind.RESET,
        FaultKind.SLOW,
        FaultKind.TRUNCATED,
        FaultKind.INVALID_JSON,
    }
)
# SLOW stalls a run and SIGNATURE_EXPIRED is retried only once, so random plans ask for them
# explicitly; these are the faults a client must ride out with ordinary retries.
RETRYABLE_FAULTS = (
    FaultKind.HTTP_5XX,
    FaultKind.INTERNAL_ERROR,
    FaultKind.RATE_LIMIT,
    FaultKind.RESET,
    FaultKind.TRUNCATED,
    FaultKind.INVALID_JSON,
)

_BAD_GATEWAY = b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"
_INVALID_JSON = b'{"Response": {RequestId: undefined, "TaskList": [,]}}'


class FaultPlan:
    """Which fault, if any, the next request gets: a script first, then a seeded random rate."""

    def __init__(
        self,
        script: Iterable[FaultKind | None] = (),
        *,
        rate: float = 0.0,
        kinds: Iterable[FaultKind] = RETRYABLE_FAULTS,
        seed: int = 0,
        action: str | None = None,
        slow_seconds: float = 30.0,
    ) -> None:
        self._script: deque[FaultKind | None] = deque(script)
        self._rate = rate
        self._kinds = tuple(kinds)
        self._rng = random.Random(seed)
        self.action = action
        """Only requests to this action draw faults (all actions when None)."""
        self.slow_seconds = slow_seconds
        """How long a SLOW answer waits: longer than the client's timeout."""

    @classmethod
    def none(cls) -> FaultPlan:
        """No faults at all."""
        return cls()

    @classmethod
    def script(
        cls,
        kinds: Iterable[FaultKind | None],
        *,
        action: str | None = None,
        slow_seconds: float = 30.0,
    ) -> FaultPlan:
        """One entry per request, in order (None answers normally); no faults afterwards."""
        return cls(kinds, action=action, slow_seconds=slow_seconds)

    @classmethod
    def random(
        cls,
        rate: float,
        kinds: Iterable[FaultKind] = RETRYABLE_FAULTS,
        seed: int = 0,
        *,
        action: str | None = None,
        slow_seconds: float = 30.0,
    ) -> FaultPlan:
        """Each request faults with probability `rate`, the kind drawn from `kinds`."""
        return cls(rate=rate, kinds=kinds, seed=seed, action=action, slow_seconds=slow_seconds)

    @property
    def remaining(self) -> int:
        """Scripted entries not yet consumed."""
        return len(self._script)

    def draw(self, action: str) -> FaultKind | None:
        """The fault for the next request to `action`, or None to answer normally."""
        if self.action is not None and action != self.action:
            return None
        if self._script:
            return self._script.popleft()
        if self._rate > 0 and self._kinds and self._rng.random() < self._rate:
            return self._rng.choice(self._kinds)
        return None


async def transport_fault(
    request: web.Request, kind: FaultKind, body: bytes, *, slow_seconds: float = 30.0
) -> web.StreamResponse:
    """Answer with a transport fault, given the JSON `body` a normal answer would carry."""
    if kind is FaultKind.HTTP_5XX:
        return web.Response(status=502, body=_BAD_GATEWAY, content_type="text/html")
    if kind is FaultKind.SLOW:
        await asyncio.sleep(slow_seconds)
        return web.Response(body=body, content_type="application/json")
    if kind is FaultKind.TRUNCATED:
        return web.Response(body=body[: max(len(body) // 2, 1)], content_type="application/json")
    if kind is FaultKind.INVALID_JSON:
        return web.Response(body=_INVALID_JSON, content_type="application/json")
    if kind is FaultKind.RESET:
        return await _reset(request, body)
    raise ValueError(f"{kind} is not a transport fault")


async def _reset(request: web.Request, body: bytes) -> web.StreamResponse:
    """Send the headers and half the body, then drop the connection."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    # Let the partial body reach the socket: abort() discards whatever is still buffered.
    await asyncio.sleep(0)
    if request.transport is not None:
        request.transport.abort()
    return response
