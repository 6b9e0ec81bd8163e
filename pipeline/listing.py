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

from pipeline.chains import NewsCheck
from pipeline.errors import PagingError, PartialListing
from pipeline.source import Caller, Record

log = structlog.get_logger(__name__)


# More pages than this is a vendor answer to refuse, not a list to read.
MAX_PAGES = 100_000


def page_count(total: Any, reported: Any, page_size: int, api: str) -> tuple[int, int]:
    """The task total and the number of pages to read, from what the vendor reported.

    The vendor's own page count wins when it asks for more pages than the total needs (it may
    have served smaller pages than asked), up to one task a page.
    """
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise PagingError(f"{api} reported no usable task total ({type(total).__name__})")
    needed = -(-total // page_size)
    plausible = isinstance(reported, int) and not isinstance(reported, bool)
    pages = reported if plausible and needed <= reported <= max(total, 1) else needed
    if pages > MAX_PAGES:
        raise PagingError(f"{api} reported {pages} pages; refusing to read more than {MAX_PAGES}")
    return total, pages


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a position-paged list."""

    records: list[Record]
    total: int
    pages: int

    @property
    def front(self) -> Any:
        return self.records[0] if self.records else None

    def ids(self, key: str) -> set[str]:
        """The distinct ids on this page (records without a usable id are not among them)."""
        return {r[key] for r in self.records if _has_id(r, key)}

    def unidentified(self, key: str) -> int:
        """How many records on this page have no usable id (each counts as its own task)."""
        return sum(1 for r in self.records if not _has_id(r, key))


def _has_id(record: Any, key: str) -> bool:
    return isinstance(record, dict) and isinstance(record.get(key), str)


async def scan_until_stable(
    read: Callable[[int], Awaitable[ListPage]],
    *,
    api: str,
    id_key: str,
    scans: int,
    front_moves_on_change: bool,
) -> AsyncIterator[list[Record]]:
    """Every page of the list, scan after scan, until one scan is consistent.

    Pages after the first are requested together and handed on as they arrive, so loading
    overlaps fetching and only pages not yet loaded are held.
    """
    for scan in range(1, scans + 1):
        first = await read(1)
        yield first.records
        seen, unidentified, totals = first.ids(id_key), first.unidentified(id_key), {first.total}
        news = NewsCheck(api, id_key)
        news.page(first.records)
        check: asyncio.Task[ListPage] | None = None
        pending = [asyncio.ensure_future(read(n)) for n in range(2, first.pages + 1)]
        try:
            for arrived, future in enumerate(asyncio.as_completed(pending), start=1):
                page = await future
                news.page(page.records)
                seen |= page.ids(id_key)
                unidentified += page.unidentified(id_key)
                totals.add(page.total)
                if arrived == len(pending) and front_moves_on_change:
                    # Checked as soon as every page is in, not after they are loaded.
                    check = asyncio.ensure_future(read(1))
                yield page.records
        except BaseException:
            if check is not None:
                check.cancel()
            raise
        finally:
            for future in pending:
                future.cancel()
        moved = False
        if front_moves_on_change:
            # Any creation or update moves a task to the front; a deletion changes the total.
            checked = await (check or read(1))
            yield checked.records
            totals.add(checked.total)
            moved = checked.front != first.front
        if totals == {first.total} and len(seen) + unidentified == first.total and not moved:
            return
        log.info("listing.shifted", scan=scan, totals=sorted(totals), tasks_seen=len(seen))
    raise PartialListing(f"{api}: the task list kept changing during {scans} scans")


def numbered_pages(
    call: Caller,
    parse: Callable[[Record, str], ListPage],
    *,
    api: str,
    page_size: int,
    scans: int,
    front_moves_on_change: bool,
) -> AsyncIterator[list[Record]]:
    """A whole-account list paged by `PageNum` (from 1) and `PageSize`, scanned until stable."""

    async def read(page: int) -> ListPage:
        return parse(await call({"PageNum": page, "PageSize": page_size}), api)

    return scan_until_stable(
        read, api=api, id_key="TaskId", scans=scans, front_moves_on_change=front_moves_on_change
    )
