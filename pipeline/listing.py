"""Whole-account listings paged by position: read every page, and read again if it shifted.

A list paged by position moves under a reader: a task created, updated or deleted between two
page reads pushes others across page boundaries, so one is read twice or not at all. A scan is
trusted only when the total stayed the same on every page, the pages held exactly that many
distinct tasks, and (for lists ordered by last update) the front of the list did not move.
Otherwise the account is scanned again; what every scan read is loaded either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from pipeline.errors import PartialListing
from pipeline.source import Record

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a position-paged list."""

    records: list[Record]
    total: int
    pages: int

    @property
    def front(self) -> Any:
        return self.records[0] if self.records else None

    def ids(self, key: str) -> set[Any]:
        return {r.get(key) for r in self.records if isinstance(r, dict)}


async def scan_until_stable(
    read: Callable[[int], Awaitable[ListPage]],
    *,
    api: str,
    id_key: str,
    scans: int,
    front_moves_on_change: bool,
) -> AsyncIterator[list[Record]]:
    """Every page of the list, scan after scan, until one scan is consistent."""
    for scan in range(1, scans + 1):
        first = await read(1)
        yield first.records
        rest = await asyncio.gather(*(read(n) for n in range(2, first.pages + 1)))
        seen = first.ids(id_key)
        for page in rest:
            seen |= page.ids(id_key)
            yield page.records
        totals = {first.total, *(page.total for page in rest)}
        moved = False
        if front_moves_on_change:
            # Any creation or update moves a task to the front; a deletion changes the total.
            check = await read(1)
            yield check.records
            totals.add(check.total)
            moved = check.front != first.front
        if totals == {first.total} and len(seen) == first.total and not moved:
            return
        log.info("listing.shifted", scan=scan, totals=sorted(totals), tasks_seen=len(seen))
    raise PartialListing(f"{api}: the task list kept changing during {scans} scans")
