"""An event loop on virtual time: when nothing is ready, its clock jumps to the next timer.

`asyncio.sleep`, `asyncio.wait(timeout=...)` and `loop.time()` behave as on a real loop, but a
test that waits ten virtual seconds takes none, and every timer fires exactly on time, so tests
can assert when things happened to the exact virtual second.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
START = 1000.0
"""Where virtual time begins: not zero, so an instant mistaken for a duration shows."""


class _Jumping(selectors.DefaultSelector):
    """Polls without blocking; a wait with nothing ready moves the loop's clock instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if not events and timeout is None:
            raise RuntimeError("virtual time: every task waits and no timer is set")
        if not events and timeout:
            self.now += timeout
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose `time()` only moves when every task waits for a timer."""

    def __init__(self) -> None:
        self._jumping = _Jumping()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)
