"""Whole-account listings paged by position: every page read, and read again when it shifted.

The scan loop is driven by a list held in memory (a `read` that pages it as it stands at each
call, with changes scripted before a given call); the vendors' own lists are the twins over HTTP.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from pipeline.config import Settings
from pipeline.errors import ChainCut, PagingError, PartialListing
from pipeline.listing import MAX_PAGES, ListPage, numbered_pages, page_count, scan_until_stable
from pipeline.planning.sources import SyncRequest
from pipeline.source import Record
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, Clock, fast_settings, tencent_account
from tests.runs import run, stored_ids

API = "ListSomething"
RELAY = "DescribeLivePullStreamTasks"
VOLC, VOLC_GET = "ListPullRecordTask", "GetPullRecordTask"
AK, SK = "AKLTtest0000000000000000", "volc-test-secret-3c9d"


def task(n: int, **fields: object) -> Record:
    return {"TaskId": f"t{n}", **fields}


class Listing:
    """A list paged by position as it stands at each read; `before(n, change)` scripts a change
    made just before the n-th read. `reads` holds the page numbers asked for, in order."""

    def __init__(self, records: list[Record], page_size: int = 2) -> None:
        self.records = list(records)
        self.page_size = page_size
        self.reads: list[int] = []
        self._changes: dict[int, Callable[[list[Record]], None]] = {}
        self.fail_on: int | None = None

    def before(self, n: int, change: Callable[[list[Record]], None]) -> None:
        self._changes[n] = change

    def read(self, page: int) -> Awaitable[ListPage]:
        # The read is noted when it is asked for, not when its answer is awaited.
        self.reads.append(page)
        change = self._changes.pop(len(self.reads), None)
        if change is not None:
            change(self.records)
        return self._answer(page)

    async def _answer(self, page: int) -> ListPage:
        if page == self.fail_on:
            raise PagingError(f"page {page} could not be read")
        offset = (page - 1) * self.page_size
        total = len(self.records)
        shown = [dict(r) for r in self.records[offset : offset + self.page_size]]
        return ListPage(shown, total, math.ceil(total / self.page_size))


async def scan(listing: Listing, *, front: bool = False, scans: int = 4) -> list[list[Record]]:
    return [
        page
        async for page in scan_until_stable(
            listing.read, api=API, id_key="TaskId", scans=scans, front_moves_on_change=front
        )
    ]


def ids(pages: list[list[Record]]) -> list[str]:
    return [r.get("TaskId", "?") for page in pages for r in page]


# page_count: what the vendor reported, made safe to page by


@pytest.mark.parametrize("total", [None, "12", 1.5, True, -1])
def test_a_total_that_is_not_a_count_is_a_paging_error_naming_the_api(total: object) -> None:
    with pytest.raises(PagingError, match=rf"^PagingError: {API} reported no usable task total"):
        page_count(total, 1, 20, API)


def test_a_refused_total_names_its_type() -> None:
    with pytest.raises(PagingError, match=r"\(str\)$"):
        page_count("12", 1, 20, API)


def test_pages_are_the_total_divided_by_the_page_size_rounded_up() -> None:
    assert page_count(40, None, 20, API) == (40, 2)
    assert page_count(41, None, 20, API) == (41, 3)


def test_an_empty_list_has_no_page_to_read_after_the_first() -> None:
    assert page_count(0, 0, 20, API) == (0, 0)


def test_the_vendors_page_count_wins_when_it_asks_for_more_pages() -> None:
    assert page_count(30, 3, 20, API) == (30, 3)


def test_the_vendors_page_count_may_ask_for_one_task_a_page_but_no_more() -> None:
    assert page_count(30, 30, 20, API) == (30, 30)
    assert page_count(30, 31, 20, API) == (30, 2)


def test_an_empty_list_may_report_one_page_but_no_more() -> None:
    assert page_count(0, 1, 20, API) == (0, 1)
    assert page_count(0, 2, 20, API) == (0, 0)


@pytest.mark.parametrize("reported", [None, "3", 1.0, [3]])
def test_a_page_count_that_is_not_an_integer_is_ignored(reported: object) -> None:
    assert page_count(30, reported, 20, API) == (30, 2)


def test_up_to_max_pages_are_read_and_more_are_refused() -> None:
    assert page_count(MAX_PAGES, None, 1, API) == (MAX_PAGES, MAX_PAGES)
    refused = rf"^PagingError: {API} reported {MAX_PAGES + 1} pages; refusing to read more than"
    with pytest.raises(PagingError, match=refused):
        page_count(MAX_PAGES + 1, None, 1, API)


# scan_until_stable: a scan is trusted only when it was consistent


async def test_a_list_that_stays_put_is_read_once_page_by_page() -> None:
    listing = Listing([task(n) for n in range(1, 6)])
    pages = await scan(listing)
    assert ids(pages) == ["t1", "t2", "t3", "t4", "t5"]
    assert listing.reads == [1, 2, 3]


async def test_a_list_ordered_by_update_gets_one_check_of_its_front_after_the_pages() -> None:
    listing = Listing([task(n) for n in range(1, 6)])
    pages = await scan(listing, front=True)
    assert listing.reads == [1, 2, 3, 1]
    assert ids(pages) == ["t1", "t2", "t3", "t4", "t5", "t1", "t2"]  # the check is loaded too


async def test_an_empty_list_ordered_by_update_is_read_and_checked_once() -> None:
    listing = Listing([])
    pages = await scan(listing, front=True)
    assert (pages, listing.reads) == ([[], []], [1, 1])


async def test_the_front_is_checked_before_the_last_page_is_handed_on() -> None:
    listing = Listing([task(n) for n in range(1, 5)])
    asked_when_handed: list[list[int]] = []
    async for _ in scan_until_stable(
        listing.read, api=API, id_key="TaskId", scans=1, front_moves_on_change=True
    ):
        asked_when_handed.append(list(listing.reads))
    assert asked_when_handed[1] == [1, 2, 1]  # page 2, the last, with the check already asked


async def test_a_front_that_moved_by_the_check_is_read_again() -> None:
    listing = Listing([task(n, Status="active") for n in range(1, 6)])
    listing.before(4, lambda records: records[0].update(Status="pause"))  # updated in place
    pages = await scan(listing, front=True)
    assert listing.reads == [1, 2, 3, 1] * 2
    assert pages[-1][0] == task(1, Status="pause")


async def test_a_task_added_at_the_end_during_the_scan_is_read_by_a_second_scan() -> None:
    listing = Listing([task(n) for n in range(1, 5)])
    listing.before(2, lambda records: records.append(task(5)))  # the total grows by one
    pages = await scan(listing)
    assert "t5" in ids(pages)
    assert listing.reads == [1, 2, 1, 2, 3]


async def test_a_task_removed_during_the_scan_makes_it_read_again() -> None:
    listing = Listing([task(n) for n in range(1, 6)])
    listing.before(2, lambda records: records.pop())  # t5 goes: page 3 is empty
    await scan(listing)
    assert listing.reads == [1, 2, 3, 1, 2]


async def test_a_scan_that_read_one_task_twice_and_missed_another_is_read_again() -> None:
    listing = Listing([task(n) for n in range(1, 5)])

    def created_and_deleted(records: list[Record]) -> None:
        records.insert(0, task(0))  # the total stays at 4: t2 is read twice, t0 never
        records.pop()

    listing.before(2, created_and_deleted)
    pages = await scan(listing)
    assert ids(pages) == ["t1", "t2", "t2", "t3", "t0", "t1", "t2", "t3"]


async def test_records_without_an_id_count_each_as_a_task_of_their_own() -> None:
    anonymous = {"Name": "no id"}
    records = [task(1), anonymous, task(3), {"TaskId": 4}, task(5)]
    listing = Listing(records)
    pages = await scan(listing)
    assert pages == [records[0:2], records[2:4], records[4:5]]
    assert listing.reads == [1, 2, 3]


async def test_a_list_that_keeps_changing_is_a_partial_listing_after_its_scans() -> None:
    listing = Listing([task(n) for n in range(1, 5)])
    for n in (2, 4):  # a new task during each of the two scans
        listing.before(n, lambda records, n=n: records.append(task(10 + n)))
    with pytest.raises(PartialListing, match=rf"^PartialListing: {API}: .* during 2 scans$"):
        await scan(listing, scans=2)
    assert listing.reads == [1, 2, 1, 2, 3]


async def test_a_shifted_scan_is_logged_with_its_totals_and_the_tasks_seen() -> None:
    listing = Listing([task(n) for n in range(1, 5)])
    listing.before(2, lambda records: records.append(task(5)))
    with capture_logs() as logs:
        await scan(listing)
    shifted = [e for e in logs if e["event"] == "listing.shifted"]
    assert shifted == [
        {"event": "listing.shifted", "log_level": "info", "scan": 1, "totals": [4, 5],
         "tasks_seen": 4}
    ]  # fmt: skip


async def test_pages_that_bring_nothing_new_cut_the_chain() -> None:
    listing = Listing([task(1), task(2)])
    listing.read = lambda page: _same_page(listing.reads, page)  # type: ignore[method-assign]
    with pytest.raises(ChainCut, match=rf"^ChainCut: {API}: 3 pages in a row"):
        await scan(listing)
    assert listing.reads == [1, 2, 3, 4, 5]


def _same_page(reads: list[int], page: int) -> Awaitable[ListPage]:
    """A vendor that answers page 1 for every page number, and claims five pages."""
    reads.append(page)

    async def answer() -> ListPage:
        return ListPage([task(1), task(2)], 10, 5)

    return answer()


@pytest.mark.parametrize("front", [False, True], ids=["unordered", "ordered_by_update"])
async def test_a_page_that_cannot_be_read_ends_the_scan_with_its_own_error(front: bool) -> None:
    listing = Listing([task(n) for n in range(1, 6)])
    listing.fail_on = 2
    with pytest.raises(PagingError, match=r"^PagingError: page 2 could not be read$"):
        await scan(listing, front=front)


# numbered_pages: PageNum from 1 and PageSize, over the vendor's call


async def test_numbered_pages_ask_for_page_num_from_one_and_page_size() -> None:
    asked: list[Mapping[str, Any]] = []

    async def call(params: Mapping[str, Any], api: str | None = None) -> Record:
        asked.append(dict(params))
        return {"page": params["PageNum"], "api": api}

    def parse(payload: Record, api: str) -> ListPage:
        assert (payload["api"], api) == (None, API)
        return ListPage([task(payload["page"])], 3, 3)

    pages = [
        p
        async for p in numbered_pages(
            call, parse, api=API, page_size=1, scans=1, front_moves_on_change=False
        )
    ]
    assert ids(pages) == ["t1", "t2", "t3"]
    assert asked == [{"PageNum": n, "PageSize": 1} for n in (1, 2, 3)]


async def test_numbered_pages_that_keep_shifting_name_the_api_and_their_scans() -> None:
    async def call(params: Mapping[str, Any], api: str | None = None) -> Record:
        return {}

    def parse(payload: Record, api: str) -> ListPage:
        return ListPage([task(1)], 2, 1)  # two tasks claimed, one on the only page

    pages = numbered_pages(call, parse, api=API, page_size=1, scans=3, front_moves_on_change=True)
    with pytest.raises(PartialListing, match=rf"^PartialListing: {API}: .* during 3 scans$"):
        async for _ in pages:
            pass


# The vendors' lists over HTTP, end to end


@pytest.fixture
def relay(clock: Clock) -> TencentSandbox:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=clock, rate_limits={RELAY: FAST_RATE}
    )
    sandbox.add_pull_tasks(generate_pull_tasks(clock.now, count=55, seed=5))
    return sandbox


@pytest.fixture
async def relay_settings(relay: TencentSandbox) -> AsyncIterator[Settings]:
    async with relay.serve() as server:
        yield fast_settings(tencent_account(server.url, apis=(RELAY,)))


async def vendor_deleted(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch(
        "SELECT task_id FROM tasks WHERE vendor_deleted_at IS NOT NULL ORDER BY task_id"
    )
    return [r["task_id"] for r in rows]


async def test_an_account_whose_relay_tasks_are_all_gone_has_every_stored_one_marked_deleted(
    pool: asyncpg.Pool, relay: TencentSandbox, relay_settings: Settings, clock: Clock
) -> None:
    await run(pool, relay_settings, SyncRequest(), clock.now)
    gone = sorted(relay.pull_tasks)
    for task_id in gone:
        relay.delete_pull_task(task_id)
    report = await run(pool, relay_settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await vendor_deleted(pool) == gone
    assert report.sources[0].counts.deleted == len(gone)


async def test_a_relay_list_whose_front_changes_in_every_scan_claims_no_deletion(
    pool: asyncpg.Pool, relay: TencentSandbox, relay_settings: Settings, clock: Clock
) -> None:
    await run(pool, relay_settings, SyncRequest(), clock.now)  # requests 1 to 4
    front = max(relay.pull_tasks.values(), key=lambda t: (t["UpdateTime"], t["TaskId"]))
    gone = next(t for t in sorted(relay.pull_tasks) if t != front["TaskId"])
    relay.delete_pull_task(gone)  # before the next run

    def touch_the_front(sandbox: TencentSandbox) -> None:
        clock.now += 1  # updated in place: it stays first, no other task moves
        sandbox.update_pull_task(front["TaskId"], Comment=f"edited at {clock.now}")

    for scan_start in range(5, 5 + 4 * 4, 4):  # every scan of the second run, between pages
        relay.on_request(RELAY, scan_start + 1, touch_the_front)
    report = await run(pool, relay_settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    assert await vendor_deleted(pool) == []
    assert await pool.fetchval("SELECT count(*) FROM coverage") == 1  # the first run's only


def volcengine_settings(url: str) -> Settings:
    account = VolcengineAccount(
        name="volc-main",
        vendor="volcengine",
        access_key_id=AK,
        secret_access_key=SecretStr(SK),
        endpoint=url,
        rate_limits={VOLC: FAST_RATE, VOLC_GET: FAST_RATE},
    )
    return fast_settings(account)


async def test_a_volcengine_task_created_while_another_is_deleted_mid_scan_is_not_lost(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    volc = VolcengineSandbox(
        credentials={AK: SK},
        clock=lambda: frozen_now,
        rate_limits={VOLC: FAST_RATE, VOLC_GET: FAST_RATE},
    )
    volc.add_tasks(generate_pull_record_tasks(frozen_now, count=1100, seed=9))
    created = generate_pull_record_tasks(frozen_now + 1, count=1, seed=77)
    last = volc.ordered_tasks()[-1]["TaskId"]

    def created_and_deleted(sandbox: VolcengineSandbox) -> None:
        # Newest first: the new task pushes the list one place down, the last one's deletion
        # keeps the total. One task is read twice, and the new one would be missed.
        sandbox.add_tasks([{**created[0], "CreateTime": frozen_now + 1}])
        sandbox.delete_task(last)

    volc.on_request(VOLC, 2, created_and_deleted)
    async with volc.serve() as server:
        report = await run(pool, volcengine_settings(server.url), SyncRequest(), frozen_now)
    assert report.outcome == "succeeded"
    assert created[0]["TaskId"] in await stored_ids(pool)
