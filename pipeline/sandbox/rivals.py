"""Another client of the same account: it spends a share of an action's budget at a twin.

Tencent counts a limit per API, region and sub-account, and whatever else the company runs on
that sub-account spends the same budget. `OtherClient` stands for it: while running it takes one
request's worth of the twin's rate limit for (`action`, `key`) evenly, `share` of the action's
rate per second, exactly as a request of its own would (through `Twin.limiter.allow`). With
`burst`, it first spends at once whatever the budget holds (a batch job starting, say).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Hashable
from types import TracebackType

from pipeline.sandbox.twin import Twin


class OtherClient:
    """Spends `share` of `action`'s budget at `twin` under `key` while it runs."""

    def __init__(
        self, twin: Twin, action: str, key: Hashable, share: float, *, burst: bool = False
    ) -> None:
        self._twin = twin
        self._burst = burst
        self._action = action
        self._key = key
        self._share = share
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.refused = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._spend())

    def stop(self) -> None:
        """Stop sending (from a twin hook, say: `twin.on_request(action, n, lambda _: stop())`)."""
        if self._task is not None:
            self._task.cancel()

    async def _spend(self) -> None:
        loop = asyncio.get_running_loop()
        rate = self._twin.limiter.rate(self._action)
        if math.isinf(rate):
            return  # an unlimited action has no budget to share
        while self._burst and self._twin.limiter.allow(self._action, self._key):
            self.sent += 1
        interval = 1.0 / (self._share * rate)
        due = loop.time()
        while True:
            self.sent += 1
            self.refused += not self._twin.limiter.allow(self._action, self._key)
            due += interval
            await asyncio.sleep(max(due - loop.time(), 0.0))

    async def __aenter__(self) -> OtherClient:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
