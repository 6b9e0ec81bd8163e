"""The seam between a request and the vendor's rate limit: what a pacer offers the transport.

A `Pacer` lets a request leave (`async with pacer:`) at most at its current `rate`, counted over
every sliding second; `set_rate` changes the pace (the adaptive controller lowers it when the
vendor answers "rate limited" and raises it again after quiet periods, never above `ceiling`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol


class Pacer(Protocol):
    """Lets requests leave at no more than `rate` in any sliding second."""

    @property
    def rate(self) -> float:
        """The current pace, requests per second."""
        ...

    @property
    def ceiling(self) -> float:
        """The pace it may never exceed: the documented or configured limit."""
        ...

    def set_rate(self, rate: float) -> None:
        """Change the pace (clamped to (0, ceiling])."""
        ...

    async def __aenter__(self) -> None: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
