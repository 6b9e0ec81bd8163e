"""Sends one vendor API call: limiter, signing, HTTP and the retry policy, for every attempt."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import aiohttp
import structlog

from pipeline.adaptive import AdaptivePace, PaceRules
from pipeline.bodies import ACCEPT_ENCODING, BodyCaps, read_body
from pipeline.errors import RateLimited, Redirected, TransportError
from pipeline.hedging import HedgeRules, Latencies, first_good
from pipeline.model import CallStats
from pipeline.pacing import Pacer
from pipeline.retry import RetryPolicy, call_with_retries
from pipeline.source import HttpRequest, HttpResponse, Record, VendorClient
from pipeline.urls import host_of, scrub

log = structlog.get_logger(__name__)


class Transport:
    """The `Caller` of one account and API (and of the helper APIs its source may call)."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        client: VendorClient,
        api: str,
        limiter: Pacer,
        policy: RetryPolicy,
        timeout: float,
        clock: Callable[[], float],
        helper_limiters: Mapping[str, Pacer] | None = None,
        max_body_bytes: int = 50_000_000,
        max_decoded_bytes: int = 200_000_000,
        pace_rules: PaceRules | None = None,
        hedge_rules: HedgeRules | None = None,
        monotonic: Callable[[], float] = time.monotonic,
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
        self._pace_rules = pace_rules
        self._monotonic = monotonic
        self._paces: dict[str, AdaptivePace] = {}
        self._hedge_rules = hedge_rules
        self._latencies: dict[str, Latencies] = {}

    async def __call__(self, params: Mapping[str, Any], api: str | None = None) -> Record:
        action = api or self._api
        if action not in self._limiters:
            raise ValueError(f"{action} has no limiter: declare it in the vendor's helper_apis")
        return await call_with_retries(
            lambda: self._attempt(action, params),
            self._policy,
            on_retry=lambda exc: self._retried(action, exc),
        )

    def _retried(self, api: str, exc: BaseException) -> None:
        self.stats.retries += 1
        pace = self._pace(api)
        if isinstance(exc, RateLimited):
            pace.refused()
            self._note_pace(api, pace)

    def _pace(self, api: str) -> AdaptivePace:
        """The controller of `api`'s pacer."""
        if api not in self._paces:
            pace = AdaptivePace(self._limiters[api], self._monotonic, self._pace_rules, api)
            self._note_pace(api, pace)
            self._paces[api] = pace
        return self._paces[api]

    def _latency(self, api: str) -> Latencies:
        return self._latencies.setdefault(api, Latencies(self._hedge_rules))

    def _note_pace(self, api: str, pace: AdaptivePace) -> None:
        if api == self._api:
            self.stats.pace, self.stats.lowest_pace = pace.rate, pace.lowest

    async def _attempt(self, api: str, params: Mapping[str, Any]) -> Record:
        """One attempt: the request, and its hedge if the answer is late (the first good wins)."""
        request = await self._signed(api, params)
        original = asyncio.ensure_future(self._exchange(api, request))
        delay = self._latency(api).hedge_after()
        limit = self._timeout.total or math.inf
        try:
            if delay >= limit or not await _late(original, delay):
                return await original
            spares = (self._hedge_rules or HedgeRules()).spares
            hedge = partial(self._hedge, api, params, delay)
            return await first_good(
                [original], within=limit - delay, spare=hedge, every=delay, spares=spares
            )
        except TimeoutError:
            raise _timed_out(api, request.url, limit) from None
        finally:
            original.cancel()

    async def _hedge(self, api: str, params: Mapping[str, Any], late: float) -> Record:
        self.stats.hedges += 1
        log.info("request.hedged", after_seconds=round(late, 3), hedges=self.stats.hedges)
        return await self._exchange(api, await self._signed(api, params))

    async def _signed(self, api: str, params: Mapping[str, Any]) -> HttpRequest:
        pace = self._pace(api)
        async with self._limiters[api]:
            # Signed after the wait, so the timestamp is fresh when the request leaves.
            request = self._client.build(api, params, self._clock())
        pace.sent()
        self._note_pace(api, pace)
        self.stats.requests += 1
        return request

    async def _exchange(self, api: str, request: HttpRequest) -> Record:
        sent = asyncio.get_running_loop().time()
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
            raise _timed_out(api, request.url, self._timeout.total) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise _connection_failed(api, request.url, exc) from None
        self._latency(api).add(asyncio.get_running_loop().time() - sent)
        return self._client.parse(api, answer)


async def _late(request: asyncio.Future[Record], delay: float) -> bool:
    """Whether `request` is still unanswered after `delay` seconds."""
    done, _ = await asyncio.wait({request}, timeout=delay)
    return not done


def _timed_out(api: str, url: str, limit: float | None) -> TransportError:
    return TransportError(f"{api} to {host_of(url)} timed out after {limit}s")


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
