"""Scripted or seeded faults a vendor twin injects, and the transport-level ones applied here.

Envelope faults (INTERNAL_ERROR, RATE_LIMIT, SIGNATURE_EXPIRED) are answered by each vendor twin
in its own error envelope; the transport faults below look the same for every vendor. Hostile
bodies (OVERSIZED, OVERSIZED_CHUNKED, GZIP_BOMB) are streamed: the twin never holds them whole.
Redirects (REDIRECT_ELSEWHERE, REDIRECT_LOOP) are answered instead of the vendor's answer: a
client must neither follow them nor retry them.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections import deque
from collections.abc import Iterable
from enum import StrEnum
from functools import cache

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
    OVERSIZED = "oversized"
    """The answer padded with whitespace to the plan's `oversize_bytes`, with Content-Length."""
    OVERSIZED_CHUNKED = "oversized_chunked"
    """The same, sent chunked: nothing announces its size."""
    GZIP_BOMB = "gzip_bomb"
    """The answer after BOMB_INFLATED_BYTES of whitespace, gzipped: about 400 KB sent."""
    REDIRECT_ELSEWHERE = "redirect_elsewhere"
    """A 307 to the same path and signed query on the plan's `redirect_to`, another origin."""
    REDIRECT_LOOP = "redirect_loop"
    """A 307 back to the request's own URL, signed query and all."""


TRANSPORT_FAULTS = frozenset(
    {
        FaultKind.HTTP_5XX,
        FaultKind.RESET,
        FaultKind.SLOW,
        FaultKind.TRUNCATED,
        FaultKind.INVALID_JSON,
        FaultKind.OVERSIZED,
        FaultKind.OVERSIZED_CHUNKED,
        FaultKind.GZIP_BOMB,
        FaultKind.REDIRECT_ELSEWHERE,
        FaultKind.REDIRECT_LOOP,
    }
)
# SLOW stalls a run and SIGNATURE_EXPIRED is retried only once, so random plans ask for them
# explicitly, as they do the hostile bodies (a client must refuse those, not ride them out);
# these are the faults a client must ride out with ordinary retries.
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
BOMB_INFLATED_BYTES = 400_000_000
"""What a GZIP_BOMB inflates to: twice the default cap on decoded bytes."""
_CHUNK = 1 << 16
_NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens there


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
        oversize_bytes: int = 60_000_000,
        redirect_to: str = _NOWHERE,
    ) -> None:
        self._script: deque[FaultKind | None] = deque(script)
        self._rate = rate
        self._kinds = tuple(kinds)
        self._rng = random.Random(seed)
        self.action = action
        """Only requests to this action draw faults (all actions when None)."""
        self.slow_seconds = slow_seconds
        """How long a SLOW answer waits: longer than the client's timeout."""
        self.oversize_bytes = oversize_bytes
        """How large an OVERSIZED answer is: by default past Tencent's largest (50 MB)."""
        self.redirect_to = redirect_to
        """The origin a REDIRECT_ELSEWHERE answer points to (a server recording what reaches it)."""

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
        oversize_bytes: int = 60_000_000,
        redirect_to: str = _NOWHERE,
    ) -> FaultPlan:
        """One entry per request, in order (None answers normally); no faults afterwards."""
        return cls(
            kinds,
            action=action,
            slow_seconds=slow_seconds,
            oversize_bytes=oversize_bytes,
            redirect_to=redirect_to,
        )

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
    request: web.Request,
    kind: FaultKind,
    body: bytes,
    *,
    slow_seconds: float = 30.0,
    oversize_bytes: int = 60_000_000,
    redirect_to: str = _NOWHERE,
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
    if kind in (FaultKind.OVERSIZED, FaultKind.OVERSIZED_CHUNKED):
        padding = max(oversize_bytes - len(body), 0)
        return await _stream(request, body, padding, sized=kind is FaultKind.OVERSIZED)
    if kind is FaultKind.GZIP_BOMB:
        return await _stream(request, gzip_bomb(body), 0, sized=True, encoding="gzip")
    if kind is FaultKind.REDIRECT_ELSEWHERE:
        return _redirect(redirect_to.rstrip("/") + request.path_qs)
    if kind is FaultKind.REDIRECT_LOOP:
        return _redirect(str(request.url))
    raise ValueError(f"{kind} is not a transport fault")


def _redirect(location: str) -> web.Response:
    # 307 asks the client to send the same method and body again, to `location`.
    return web.Response(status=307, headers={"Location": location})


def gzip_bomb(body: bytes, inflated: int = BOMB_INFLATED_BYTES) -> bytes:
    """`body` after `inflated` bytes of whitespace, gzipped (still a valid JSON answer)."""
    prefix, compressor = _whitespace_gzip(inflated)
    tail = compressor.copy()
    return prefix + tail.compress(body) + tail.flush()


@cache
def _whitespace_gzip(inflated: int) -> tuple[bytes, zlib._Compress]:
    """`inflated` spaces compressed a chunk at a time, and the compressor, open, after them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(inflated // len(chunk))]
    parts.append(compressor.compress(b" " * (inflated % len(chunk))))
    return b"".join(parts), compressor


async def _stream(
    request: web.Request, head: bytes, padding: int, *, sized: bool, encoding: str | None = None
) -> web.StreamResponse:
    """Send `head`, then `padding` spaces, a chunk at a time, until the client hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if encoding is not None:
        response.headers["Content-Encoding"] = encoding
    if sized:
        response.content_length = len(head) + padding
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    spaces = b" " * _CHUNK
    try:
        await response.write(head)
        for start in range(0, padding, _CHUNK):
            await response.write(spaces[: min(_CHUNK, padding - start)])
    except ConnectionError:
        pass  # the client stopped reading at its cap: that is the point
    return response


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
