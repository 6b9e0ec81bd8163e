"""Sends one vendor API call: limiter, signing, HTTP and the retry policy, for every attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from pipeline.bodies import ACCEPT_ENCODING, BodyCaps, read_body
from pipeline.errors import Redirected, TransportError
from pipeline.retry import RetryPolicy, call_with_retries
from pipeline.source import HttpResponse, Record, VendorClient
from pipeline.urls import host_of, scrub


@dataclass(slots=True)
class CallStats:
    """Requests sent and retries made by one source."""

    requests: int = 0
    retries: int = 0


PACING_BURST = 2


def paced_limiter(rate: float) -> AsyncLimiter:
    """A limiter that spaces requests evenly at `rate` per second, with a burst of two at most."""
    # AsyncLimiter(rate, 1) would let `rate` requests out at once; a vendor counting on
    # arrival can see that burst plus the next second's requests inside one window. A bucket
    # of one loses every late wake-up for good; a bucket of two lets the next request catch up.
    return AsyncLimiter(PACING_BURST, PACING_BURST / rate)


class Transport:
    """The `Caller` of one account and API (and of the helper APIs its source may call)."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        client: VendorClient,
        api: str,
        limiter: AsyncLimiter,
        policy: RetryPolicy,
        timeout: float,
        clock: Callable[[], float],
        helper_limiters: Mapping[str, AsyncLimiter] | None = None,
        max_body_bytes: int = 50_000_000,
        max_decoded_bytes: int = 200_000_000,
    ) -> None:
        self._session = session
        self._client = client
        self._api = api
        self._limiters = {**(helper_limiters or {}), api: limiter}
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._caps = BodyCaps(received=max_body_bytes, decoded=max_decoded_bytes)
        self.stats = CallStats()

    async def __call__(self, params: Mapping[str, Any], api: str | None = None) -> Record:
        action = api or self._api
        if action not in self._limiters:
            raise ValueError(f"{action} has no limiter: declare it in the vendor's helper_apis")
        return await call_with_retries(
            lambda: self._attempt(action, params), self._policy, on_retry=self._count_retry
        )

    def _count_retry(self, _: BaseException) -> None:
        self.stats.retries += 1

    async def _attempt(self, api: str, params: Mapping[str, Any]) -> Record:
        async with self._limiters[api]:
            # Signed after the wait, so the timestamp is fresh when the request leaves.
            request = self._client.build(api, params, self._clock())
        self.stats.requests += 1
        try:
            async with self._session.request(
                request.method,
                request.url,
                headers={"Accept-Encoding": ACCEPT_ENCODING, **request.headers},
                data=request.body,
                timeout=self._timeout,
                # Whatever the session says: read_body inflates, within the caps.
                auto_decompress=False,
                # A redirect would carry the body and the signed URL and headers elsewhere.
                allow_redirects=False,
            ) as response:
                if 300 <= response.status < 400:
                    raise _redirected(api, request.url, response.status, response.headers)
                body = await read_body(response, api, self._caps)
                answer = HttpResponse(response.status, dict(response.headers), body)
        # `from None`: an aiohttp error's text may be the signed URL, and tracebacks print it.
        except TimeoutError:
            limit = self._timeout.total
            raise TransportError(
                f"{api} to {host_of(request.url)} timed out after {limit}s"
            ) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise _connection_failed(api, request.url, exc) from None
        return self._client.parse(api, answer)


def _redirected(api: str, url: str, status: int, headers: Mapping[str, str]) -> Redirected:
    """The error for a 3xx answer, naming the hosts but neither URL (both may be signed)."""
    location = headers.get("Location")
    target = host_of(location, base=url) if location else "no Location"
    return Redirected(
        f"{api} to {host_of(url)} answered HTTP {status} (to {target}); "
        "redirects are never followed: check the account's endpoint"
    )


def _connection_failed(api: str, url: str, exc: BaseException) -> TransportError:
    """The error for a failed exchange: the API, the host and the exception, never the URL."""
    # An InvalidURL's text is the whole URL; other aiohttp errors may quote it too.
    detail = "" if isinstance(exc, aiohttp.InvalidURL) else scrub(str(exc))
    return TransportError(
        f"{api} to {host_of(url)}: connection failed: {type(exc).__name__}"
        + (f": {detail}" if detail else "")
    )
