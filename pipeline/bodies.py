"""Reads an answer's body within two caps: bytes received, and bytes once decompressed.

aiohttp's own decompression is off (it would inflate a gzip bomb whole, unbounded), so gzip and
deflate are inflated here, a bounded step at a time, and the read stops as soon as a cap is
passed. Other encodings are refused: they are never asked for.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import aiohttp

from pipeline.errors import ResponseTooLarge, TransportError, UnknownEncoding

ACCEPT_ENCODING = "gzip, deflate"
"""What every request asks for: the encodings `BoundedBody` can inflate."""

# One inflate step's output at most: a 64 KiB chunk of a bomb could otherwise inflate to 64 MiB
# in one call, whatever room the cap has left.
_STEP = 1 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_WBITS = {"gzip": _GZIP_WBITS, "x-gzip": _GZIP_WBITS, "deflate": zlib.MAX_WBITS}


@dataclass(frozen=True, slots=True)
class BodyCaps:
    """How large one answer may be: as received, and once decompressed (bytes)."""

    received: int = 50_000_000
    decoded: int = 200_000_000


def too_large(api: str, cap: int, decoded: bool) -> ResponseTooLarge:
    """The error for an answer past `cap`, naming the config key that sets it."""
    where, key = (" after decompression", "max_decoded_mb") if decoded else ("", "max_body_mb")
    size = f"{cap / 1_000_000:g} MB" if cap >= 1_000_000 else f"{cap} bytes"
    return ResponseTooLarge(f"{api} answer is larger than {size}{where} (reads.{key})")


class BoundedBody:
    """Collects one body chunk by chunk, inflating it if encoded; raises past either cap."""

    def __init__(self, api: str, caps: BodyCaps, encoding: str | None = None) -> None:
        self._api = api
        self._caps = caps
        self._encoding = (encoding or "identity").strip().lower()
        if self._encoding not in _WBITS and self._encoding != "identity":
            raise UnknownEncoding(
                f"{api} answered with Content-Encoding {encoding!r}, which is not decoded here "
                f"(requests accept {ACCEPT_ENCODING})"
            )
        self._inflater: zlib._Decompress | None = None
        self._parts: list[bytes] = []
        self._received = 0
        self._decoded = 0

    def expect(self, content_length: int | None) -> None:
        """Fail before reading when the announced length is already past the cap."""
        if content_length is not None and content_length > self._caps.received:
            raise too_large(self._api, self._caps.received, decoded=False)

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk as received."""
        self._received += len(chunk)
        if self._received > self._caps.received:
            raise too_large(self._api, self._caps.received, decoded=False)
        if self._encoding == "identity":
            self._keep(chunk)
            return
        try:
            self._inflate(chunk)
        except zlib.error as exc:
            raise self._corrupt(str(exc)) from exc

    def finish(self) -> bytes:
        """The whole decoded body; TransportError if a compressed stream ended early."""
        if self._encoding != "identity" and not (self._inflater and self._inflater.eof):
            raise self._corrupt("the stream ended before its end marker")
        return b"".join(self._parts)

    def _inflate(self, data: bytes) -> None:
        while data:
            if self._inflater is None or self._inflater.eof:
                self._inflater = self._next_inflater(data)
            room = self._caps.decoded - self._decoded
            # One byte past the room is enough to know the cap is passed.
            self._keep(self._inflater.decompress(data, min(room + 1, _STEP)))
            data = self._inflater.unconsumed_tail or self._inflater.unused_data

    def _next_inflater(self, data: bytes) -> zlib._Decompress:
        if self._inflater is not None and not self._encoding.endswith("gzip"):
            raise zlib.error("data after the end of the deflate stream")
        wbits = _WBITS[self._encoding]
        if self._encoding == "deflate" and data[0] & 0x0F != zlib.DEFLATED:
            wbits = -zlib.MAX_WBITS  # raw deflate, without the zlib header HTTP asks for
        # A gzip body may be several members one after another (RFC 1952); each gets its own.
        return zlib.decompressobj(wbits)

    def _keep(self, data: bytes) -> None:
        self._decoded += len(data)
        if self._decoded > self._caps.decoded:
            raise too_large(self._api, self._caps.decoded, decoded=True)
        if data:
            self._parts.append(data)

    def _corrupt(self, reason: str) -> TransportError:
        return TransportError(
            f"{self._api} answered with a corrupt {self._encoding} body: {reason}"
        )


async def read_body(response: aiohttp.ClientResponse, api: str, caps: BodyCaps) -> bytes:
    """The body of `response` (read with auto_decompress off), decoded within `caps`."""
    body = BoundedBody(api, caps, response.headers.get("Content-Encoding"))
    body.expect(response.content_length)
    async for chunk in response.content.iter_any():
        body.feed(chunk)
    return body.finish()
