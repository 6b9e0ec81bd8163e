"""DescribeRecordTask: one window read over real HTTP from the twin, token by token, and the
edges of its normalizing (the documented example's rows are in test_tencent_record_normalize).

Each paging test reads a single window straight from the source, so the twin's request log is
that window's requests in order. Ten tasks, two a page: five pages, four ScrollTokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from structlog.testing import capture_logs

from pipeline.errors import ChainCut, PagingError, RequestRejected
from pipeline.model import Rejection, Status, Task
from pipeline.pacing import StrictPacer
from pipeline.periods import Period
from pipeline.planning.windows import Window
from pipeline.retry import RetryPolicy
from pipeline.source import Record
from pipeline.transport import Transport
from pipeline.vendors.tencent.client import TencentClient
from pipeline.vendors.tencent.record_tasks import TOKEN_RESTARTS, RecordTasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, tencent_account

API = "DescribeRecordTask"
DAY = 86_400
SOURCE = RecordTasks()


@pytest.fixture
def twin(frozen_now: int) -> TencentSandbox:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: frozen_now,
        rate_limits={API: FAST_RATE},
        page_size=2,
    )
    day_ago = frozen_now - DAY
    sandbox.add_record_tasks(
        {
            "TaskId": f"rec-{n:02}",
            "DomainName": "push.example.com",
            "AppName": "live",
            "StreamName": f"stream-{n}",
            "StartTime": day_ago + 600 * n,
            "EndTime": day_ago + 600 * n + 300,
        }
        for n in range(10)
    )
    return sandbox


@pytest.fixture
async def transport(twin: TencentSandbox, frozen_now: int) -> AsyncIterator[Transport]:
    async with twin.serve() as server, aiohttp.ClientSession() as session:
        yield Transport(
            session=session,
            client=TencentClient(tencent_account(server.url)),
            api=API,
            limiter=StrictPacer(1000),
            policy=RetryPolicy(initial_wait=0.001, max_wait=0.001),
            timeout=5,
            clock=lambda: frozen_now,
        )


def window(start: int, end: int) -> Window:
    span = Period(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    return Window(query=span, covers=span)


def two_days(now: int) -> Window:
    return window(now - 2 * DAY, now)


async def read(transport: Transport, asked: Window, most_pages: int = 20) -> list[list[Record]]:
    """The window's pages; a chain longer than `most_pages` fails the test instead of hanging."""
    pages: list[list[Record]] = []
    async for page in SOURCE.fetch(transport, asked):
        pages.append(page)
        assert len(pages) <= most_pages, "the window never ended"
    return pages


def ids(pages: list[list[Record]]) -> list[str]:
    return [r["TaskId"] for page in pages for r in page]


def tokens_sent(twin: TencentSandbox) -> list[bool]:
    """Per request of the window, in order: whether it carried a ScrollToken."""
    return ["ScrollToken" in r.params for r in twin.requests.of(API)]


def refuse_tokens_at(twin: TencentSandbox, *requests: int) -> None:
    """Every ScrollToken issued so far is refused from each of these requests on."""
    for n in requests:
        twin.on_request(API, n, TencentSandbox.expire_scroll_tokens)


async def test_a_window_is_read_page_after_page_following_its_scroll_tokens(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    pages = await read(transport, two_days(frozen_now))
    assert ids(pages) == [f"rec-{n:02}" for n in range(10)]
    assert tokens_sent(twin) == [False, True, True, True, True]
    first = twin.requests.of(API)[0].params
    assert first == {"StartTime": frozen_now - 2 * DAY, "EndTime": frozen_now}


async def test_a_window_without_tasks_is_one_request_and_one_empty_page(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    pages = await read(transport, window(frozen_now - 5 * DAY, frozen_now - 4 * DAY))
    assert pages == [[]]
    assert tokens_sent(twin) == [False]


async def test_a_scroll_token_handed_out_twice_fails_the_window_at_once(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    twin.stuck_tokens = True
    with pytest.raises(PagingError, match=r"^PagingError: DescribeRecordTask returned ScrollToken"):
        await read(transport, two_days(frozen_now))
    assert tokens_sent(twin) == [False, True]  # the repeated token is not asked for again


async def test_a_page_without_tasks_ends_the_window_whatever_token_it_carries(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    twin.endless_tokens = lambda params: True
    pages = await read(transport, window(frozen_now - 5 * DAY, frozen_now - 4 * DAY))
    assert pages == [[]]
    assert tokens_sent(twin) == [False]


async def test_fresh_tokens_that_keep_repeating_the_same_tasks_are_cut(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    twin.endless_tokens = lambda params: True
    with pytest.raises(ChainCut, match=r"^ChainCut: DescribeRecordTask: 3 pages in a row"):
        await read(transport, two_days(frozen_now))
    assert tokens_sent(twin) == [False, True, True, True]


async def test_a_refused_scroll_token_restarts_the_window_and_every_task_is_read(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    refuse_tokens_at(twin, 4)  # after three pages: they are read again
    pages = await read(transport, two_days(frozen_now))
    assert set(ids(pages)) == {f"rec-{n:02}" for n in range(10)}
    assert tokens_sent(twin) == [False, True, True, True, False, True, True, True, True]
    assert twin.requests.outcomes(API) == {"ok": 8, "InvalidParameter": 1}


async def test_each_restart_is_logged_with_its_number_and_the_vendors_reason(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    refuse_tokens_at(twin, 2, 4)
    with capture_logs() as logs:
        await read(transport, two_days(frozen_now))
    restarts = [e for e in logs if e["event"] == "window.restarted"]
    reason = "InvalidParameter: ScrollToken has expired."
    assert restarts == [
        {"event": "window.restarted", "log_level": "warning", "reason": reason, "restart": n}
        for n in (1, 2)
    ]


async def test_a_window_is_restarted_as_often_as_its_restart_budget_allows(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    assert TOKEN_RESTARTS == 2
    refuse_tokens_at(twin, 2, 4)
    pages = await read(transport, two_days(frozen_now))
    assert set(ids(pages)) == {f"rec-{n:02}" for n in range(10)}
    assert twin.requests.outcomes(API)["InvalidParameter"] == 2


async def test_a_refusal_past_the_restart_budget_fails_with_the_vendors_code(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    refuse_tokens_at(twin, 2, 4, 6)
    with pytest.raises(RequestRejected, match="ScrollToken has expired") as refused:
        await read(transport, two_days(frozen_now))
    assert refused.value.code == "InvalidParameter"
    assert tokens_sent(twin) == [False, True, False, True, False, True]


async def test_a_window_the_vendor_refuses_fails_at_once_without_a_restart(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    too_long = window(frozen_now - 8 * DAY, frozen_now)  # the twin refuses more than a week
    with pytest.raises(RequestRejected, match="must not exceed one week") as refused:
        await read(transport, too_long)
    assert refused.value.code == "InvalidParameter"
    assert tokens_sent(twin) == [False]


async def test_a_restarted_window_may_be_handed_the_same_tokens_again(
    twin: TencentSandbox, transport: Transport, frozen_now: int
) -> None:
    # A vendor whose tokens name a position, and that refused one once anyway.
    refuse_tokens_at(twin, 3)
    twin.on_request(API, 4, lambda sandbox: setattr(sandbox, "token_epoch", 0))
    pages = await read(transport, two_days(frozen_now))
    assert set(ids(pages)) == {f"rec-{n:02}" for n in range(10)}
    sent = [r.params.get("ScrollToken") for r in twin.requests.of(API)]
    assert sent[4] == sent[1]  # the first token of the restart is the first token of the window


async def test_a_task_list_that_is_not_a_list_is_a_paging_error() -> None:
    async def call(params: object, api: str | None = None) -> Record:
        return {"TaskList": {"TaskId": "rec-00"}, "ScrollToken": ""}

    with pytest.raises(PagingError, match="returned TaskList of type dict"):
        async for _ in SOURCE.fetch(call, window(0, DAY)):
            pass


def record(**fields: object) -> Record:
    return {"TaskId": "rec-x", "StartTime": 1_000, "EndTime": 2_000, **fields}


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_any_stop_time_means_stopped_however_early() -> None:
    task = SOURCE.normalize(record(Stopped=1), at(1_500))
    assert isinstance(task, Task) and task.status is Status.STOPPED


def test_a_task_is_running_from_the_second_it_starts() -> None:
    task = SOURCE.normalize(record(), at(1_000))
    assert isinstance(task, Task) and task.status is Status.RUNNING


def test_a_task_that_ends_as_it_starts_is_a_task() -> None:
    task = SOURCE.normalize(record(EndTime=1_000), at(1_500))
    assert isinstance(task, Task) and task.status is Status.FINISHED


def test_a_task_that_ends_before_it_starts_is_rejected_under_its_id() -> None:
    raw = record(EndTime=999)
    assert SOURCE.normalize(raw, at(1_500)) == Rejection("EndTime: before StartTime", raw, "rec-x")
