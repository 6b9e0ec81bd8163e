"""Sends one vendor API call: limiter, signing, HTTP and the retry policy, for every attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from pipeline.errors import TransportError
from pipeline.retry import RetryPolicy, call_with_retries
from pipeline.source import HttpResponse, Record, VendorClient


@dataclass(slots=True)
class CallStats:
    """Requests sent and retries made by one source."""

    requests: int = 0
    retries: int = 0


def paced_limiter(rate: float) -> AsyncLimiter:
    """A limiter that spaces requests evenly at `rate` per second, with no initial burst."""
    # AsyncLimiter(rate, 1) would let `rate` requests out at once; a vendor counting on
    # arrival can see that burst plus the next second's requests inside one window.
    return AsyncLimiter(1, 1 / rate)


class Transport:
    """The `Caller` of one account and API."""

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
    ) -> None:
        self._session = session
        self._client = client
        self._api = api
        self._limiter = limiter
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self.stats = CallStats()

    async def __call__(self, params: Mapping[str, Any]) -> Record:
        return await call_with_retries(
            lambda: self._attempt(params), self._policy, on_retry=self._count_retry
        )

    def _count_retry(self, _: BaseException) -> None:
        self.stats.retries += 1

    async def _attempt(self, params: Mapping[str, Any]) -> Record:
        async with self._limiter:
            # Signed after the wait, so the timestamp is fresh when the request leaves.
            request = self._client.build(self._api, params, self._clock())
        self.stats.requests += 1
        try:
            async with self._session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=self._timeout,
            ) as response:
                body = await response.read()
                answer = HttpResponse(response.status, dict(response.headers), body)
        except TimeoutError as exc:
            raise TransportError(f"{self._api} timed out after {self._timeout.total}s") from exc
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise TransportError(
                f"{self._api} connection failed: {type(exc).__name__}: {exc}"
            ) from exc
        return self._client.parse(self._api, answer)
