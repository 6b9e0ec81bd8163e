"""The Tencent twin's DescribeLivePullStreamTasks follows the contract, checked over real HTTP."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp
import pytest

from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.sandbox_clients import SECRET_ID, SECRET_KEY, tencent_call, tencent_post
from tests.vectors import load_vectors

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
DAY = 86_400
ACTION = "DescribeLivePullStreamTasks"
COUNT = 45


_call = partial(tencent_call, action=ACTION, timestamp=NOW)


async def _naive_scan(session: aiohttp.ClientSession, url: str) -> list[str]:
    """Pages 1, 2, ... of 20 until TotalPage, trusting positions: the reader trap 7 warns about."""
    seen, page = [], 1
    while True:
        answer = await _call(session, url, {"PageNum": page, "PageSize": 20})
        seen += [task["TaskId"] for task in answer["TaskInfos"]]
        if page >= answer["TotalPage"] or not answer["TaskInfos"]:
            return seen
        page += 1


def _newest_first(tasks: list[dict[str, Any]]) -> list[str]:
    def key(task: dict[str, Any]) -> tuple[float, str]:
        return -datetime.fromisoformat(task["UpdateTime"]).timestamp(), task["TaskId"]

    return [task["TaskId"] for task in sorted(tasks, key=key)]


@pytest.fixture
def sandbox() -> TencentSandbox:
    twin = TencentSandbox(credentials={SECRET_ID: SECRET_KEY}, clock=lambda: NOW)
    twin.add_pull_tasks(generate_pull_tasks(NOW, count=COUNT))
    return twin


@pytest.fixture
def order(sandbox: TencentSandbox) -> list[str]:
    """TaskIds in the order the twin lists them before anything changes."""
    return _newest_first(list(sandbox.pull_tasks.values()))


async def test_paging_returns_every_task_exactly_once(sandbox, url, session) -> None:
    seen = await _naive_scan(session, url)
    assert len(seen) == COUNT
    assert sorted(seen) == sorted(sandbox.pull_tasks)


async def test_tasks_come_newest_update_first_ties_by_task_id(sandbox, url, session) -> None:
    sandbox.add_pull_tasks([{"TaskId": "90002"}, {"TaskId": "90001"}])  # both updated at NOW
    answer = await _call(session, url, {"PageSize": 20})
    ids = [task["TaskId"] for task in answer["TaskInfos"]]
    assert ids[:2] == ["90001", "90002"]
    assert ids == _newest_first(list(sandbox.pull_tasks.values()))[:20]
    times = [task["UpdateTime"] for task in answer["TaskInfos"]]
    assert times == sorted(times, reverse=True)


async def test_defaults_are_page_one_of_ten(url, session, order) -> None:
    answer = await _call(session, url, {})
    assert (answer["PageNum"], answer["PageSize"]) == (1, 10)
    assert [task["TaskId"] for task in answer["TaskInfos"]] == order[:10]


@pytest.mark.parametrize("size", [0, 21])
async def test_page_size_outside_1_to_20_is_refused(url, session, size) -> None:
    answer = await _call(session, url, {"PageSize": size})
    assert answer["Error"]["Code"] == "InvalidParameterValue"
    assert "PageSize" in answer["Error"]["Message"]


@pytest.mark.parametrize(
    "params",
    [{"PageNum": 0}, {"PageNum": "2"}, {"PageSize": 10.0}, {"PageSize": True}, {"TaskId": 10054}],
)
async def test_wrong_values_and_types_are_refused(url, session, params) -> None:
    answer = await _call(session, url, params)
    assert answer["Error"]["Code"] == "InvalidParameterValue"
    assert next(iter(params)) in answer["Error"]["Message"]


async def test_unknown_parameter_is_refused(url, session) -> None:
    answer = await _call(session, url, {"PageNum": 1, "Status": "enable"})
    assert answer["Error"]["Code"] == "UnknownParameter"


async def test_totals_and_task_limit_are_reported(url, session) -> None:
    answer = await _call(session, url, {"PageNum": 2, "PageSize": 20})
    assert len(answer["TaskInfos"]) == 20
    assert (answer["PageNum"], answer["PageSize"]) == (2, 20)
    assert (answer["TotalNum"], answer["TotalPage"]) == (COUNT, math.ceil(COUNT / 20))
    assert answer["LimitTaskNum"] == 200
    assert answer["RequestId"]


async def test_task_limit_is_configurable(session) -> None:
    twin = TencentSandbox(credentials={SECRET_ID: SECRET_KEY}, clock=lambda: NOW, limit_task_num=20)
    async with twin.serve() as server:
        answer = await _call(session, server.url, {})
    assert answer["LimitTaskNum"] == 20
    assert (answer["TaskInfos"], answer["TotalNum"], answer["TotalPage"]) == ([], 0, 0)


async def test_page_past_the_end_is_empty_with_totals(url, session) -> None:
    answer = await _call(session, url, {"PageNum": 4, "PageSize": 20})
    assert answer["TaskInfos"] == []
    assert (answer["PageNum"], answer["TotalNum"], answer["TotalPage"]) == (4, COUNT, 3)


async def test_update_during_a_scan_shows_one_task_twice(sandbox, url, session, order) -> None:
    # The last task (unread after page 1) moves to the front: everything shifts one place down.
    sandbox.on_request(ACTION, 2, lambda twin: twin.update_pull_task(order[-1], Comment="moved"))
    seen = await _naive_scan(session, url)
    assert [task for task, times in Counter(seen).items() if times > 1] == [order[19]]
    assert order[-1] not in seen  # the updated task itself slipped past this reader
    front = (await _call(session, url, {"PageSize": 1}))["TaskInfos"][0]
    assert (front["TaskId"], front["UpdateTime"]) == (order[-1], "2023-11-14T22:13:20Z")


async def test_delete_during_a_scan_skips_one_task(sandbox, url, session, order) -> None:
    # A task already read vanishes: everything after it moves one place up, over the page break.
    sandbox.on_request(ACTION, 2, lambda twin: twin.delete_pull_task(order[0]))
    seen = await _naive_scan(session, url)
    assert len(seen) == len(set(seen)) == COUNT - 1
    assert order[20] not in seen
    assert order[20] in sandbox.pull_tasks


async def test_hook_counts_only_requests_that_reach_the_handler(sandbox, url, session) -> None:
    sandbox.on_request(ACTION, 1, lambda twin: twin.add_pull_tasks([{"TaskId": "1"}]))
    refused = await _call(session, url, {}, region="")
    assert refused["Error"]["Code"] == "MissingParameter"
    assert "1" not in sandbox.pull_tasks
    answer = await _call(session, url, {"PageSize": 1})
    assert [task["TaskId"] for task in answer["TaskInfos"]] == ["1"]


async def test_recent_pull_info_only_for_a_single_task(sandbox, url, session) -> None:
    started = next(t for t in sandbox.pull_tasks.values() if "RecentPullInfo" in t)
    listed = await _call(session, url, {"PageSize": 20})
    assert all("RecentPullInfo" not in task for task in listed["TaskInfos"])
    single = await _call(session, url, {"TaskId": started["TaskId"]})
    assert single["TaskInfos"] == [started]
    assert (single["TotalNum"], single["TotalPage"]) == (1, 1)


async def test_unknown_task_id_gives_an_empty_list(url, session) -> None:
    answer = await _call(session, url, {"TaskId": "404"})
    assert (answer["TaskInfos"], answer["TotalNum"], answer["TotalPage"]) == ([], 0, 0)


async def test_specify_task_id_finds_a_task_created_with_it(sandbox, url, session) -> None:
    sandbox.add_pull_tasks([{"TaskId": "777", "SpecifyTaskId": "match-final", "Status": "enable"}])
    answer = await _call(session, url, {"SpecifyTaskId": "match-final"})
    created = "2023-11-14T22:13:20Z"
    expected = {"TaskId": "777", "Status": "enable", "CreateTime": created, "UpdateTime": created}
    assert answer["TaskInfos"] == [expected]  # the custom id itself is not a returned field


async def test_list_fields_are_the_documented_ones(sandbox, url, session) -> None:
    answer = await _call(session, url, {"PageSize": 20})
    stored = sandbox.pull_tasks[answer["TaskInfos"][0]["TaskId"]]
    assert answer["TaskInfos"][0] == {k: v for k, v in stored.items() if k != "RecentPullInfo"}
    assert not {"CallbackInfo", "ErrorInfo"} & set(answer["TaskInfos"][0])


@pytest.mark.parametrize("region", ["ap-guangzhou", "na-ashburn", "eu-frankfurt"])
async def test_any_region_is_accepted(url, session, region) -> None:
    assert "Error" not in await _call(session, url, {}, region=region)


async def test_request_captured_from_the_official_sdk_is_answered(session) -> None:
    (vector,) = load_vectors("tencent_describe_live_pull_stream_tasks")
    given, expected = vector["input"], vector["expected"]
    twin = TencentSandbox(
        credentials={given["secret_id"]: given["secret_key"]}, clock=lambda: given["timestamp"]
    )
    async with twin.serve() as server:
        body = given["body"].encode("utf-8")
        answer = await tencent_post(session, server.url, expected["request_headers"], body)
    assert (answer["TaskInfos"], answer["PageSize"]) == ([], 20)


async def test_burst_over_30_per_second_is_rate_limited(session) -> None:
    twin = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=lambda: NOW, monotonic=lambda: 0.0
    )
    async with twin.serve() as server:
        answers = await asyncio.gather(*(_call(session, server.url, {}) for _ in range(35)))
        other_region = await _call(session, server.url, {}, region="ap-shanghai")
    codes = Counter(answer.get("Error", {}).get("Code", "ok") for answer in answers)
    assert codes == {"ok": 30, "RequestLimitExceeded": 5}
    assert "Error" not in other_region


def test_generator_is_deterministic_per_seed() -> None:
    assert generate_pull_tasks(NOW, seed=3) == generate_pull_tasks(NOW, seed=3)
    assert generate_pull_tasks(NOW, seed=3) != generate_pull_tasks(NOW, seed=4)


def _seconds(text: str) -> float:
    assert text.endswith("Z")
    return datetime.fromisoformat(text).timestamp()


def _phase(task: dict[str, Any]) -> str:
    if _seconds(task["EndTime"]) <= NOW:
        return "ended"
    return "scheduled" if _seconds(task["StartTime"]) > NOW else "running"


def test_generated_tasks_have_unique_digit_ids_and_ordered_times() -> None:
    tasks = generate_pull_tasks(NOW, count=500)
    assert len({task["TaskId"] for task in tasks}) == 500
    assert all(task["TaskId"].isdigit() for task in tasks)
    for task in tasks:
        start, end = _seconds(task["StartTime"]), _seconds(task["EndTime"])
        assert NOW - 30 * DAY <= start < end <= NOW + 7 * DAY
        assert _seconds(task["CreateTime"]) <= _seconds(task["UpdateTime"]) <= NOW


def test_generated_tasks_mix_phases_sources_and_pauses() -> None:
    tasks = generate_pull_tasks(NOW, count=1000)
    phases = Counter(_phase(task) for task in tasks)
    assert min(phases.values()) > 100 and len(phases) == 3
    assert 0.1 < sum(t["Status"] == "pause" for t in tasks) / 1000 < 0.2
    live = [t for t in tasks if t["SourceType"] == "PullLivePushLive"]
    vod = [t for t in tasks if t["SourceType"] == "PullVodPushLive"]
    assert len(live) + len(vod) == 1000 and min(len(live), len(vod)) > 300
    assert all(len(t["SourceUrls"]) == 1 for t in live)
    assert all(t["SourceUrls"][0].startswith(("rtmp://", "http://")) for t in live)
    assert all(len(t["SourceUrls"]) > 1 for t in vod)
    assert all(url.endswith(".mp4") for t in vod for url in t["SourceUrls"])


def test_ended_tasks_keep_status_enable() -> None:
    tasks = generate_pull_tasks(NOW, count=200)
    ended = [t for t in tasks if _phase(t) == "ended"]
    assert any(t["Status"] == "enable" for t in ended)
    assert {t["Status"] for t in tasks} == {"enable", "pause"}
