"""The Volcengine twin follows the ListPullRecordTask contract, checked over real HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.signing import sha256_hex
from pipeline.vendors.volcengine import signer
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.volcengine.sandbox_tasks import FIELDS
from tests.vectors import load_vectors

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
AK, SK = "AKLTsandbox", "secretSANDBOX"
LIST, GET = "ListPullRecordTask", "GetPullRecordTask"
COUNT = 80
PAGE = {"PageNum": 1, "PageSize": 20}
VECTORS = load_vectors("volcengine_")


def _request(
    url: str,
    params: Any,
    *,
    action: str = LIST,
    at: int = NOW,
    ak: str = AK,
    secret: str = SK,
    query: dict[str, str] | None = None,
    sign_host: str | None = None,
    unsigned: tuple[str, ...] = (),
    **sign_options: Any,
) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body of a call signed the way the SDK signs it (or spoilt as asked)."""
    body = json.dumps(params).encode("utf-8")
    query = {"Action": action, "Version": "2023-01-01"} if query is None else query
    date_time = signer.x_date(at)
    host = url.removeprefix("http://")
    headers = signer.headers_to_sign(host, body, date_time, "application/json")
    signed_over = {**headers, "Host": sign_host or host}
    signed = signer.sign(
        access_key_id=ak,
        secret_access_key=secret,
        date_time=date_time,
        query=query,
        signed_headers={k: v for k, v in signed_over.items() if k not in unsigned},
        body=body,
        **sign_options,
    )
    target = f"{url}/?{urlencode(query, quote_via=quote)}"
    return target, {**headers, "Authorization": signed.authorization}, body


async def _post(
    session: aiohttp.ClientSession, target: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, Any]]:
    async with session.post(target, data=body, headers=headers) as response:
        return response.status, await response.json()


async def _call(session, url, params, **options) -> tuple[int, dict[str, Any]]:
    return await _post(session, *_request(url, params, **options))


def _refusal(answer: dict[str, Any], action: str = LIST) -> dict[str, Any]:
    """The error of a refused call, once the envelope checks out (and carries no Result)."""
    assert "Result" not in answer
    metadata = answer["ResponseMetadata"]
    assert metadata["RequestId"] and metadata["Action"] == action
    assert (metadata["Service"], metadata["Region"]) == ("live", "cn-north-1")
    return metadata["Error"]


async def _naive_scan(session: aiohttp.ClientSession, url: str, size: int = 20) -> list[str]:
    """Pages 1, 2, ... until PageTotal, trusting positions: the reader trap 12 warns about."""
    seen, page = [], 1
    while True:
        status, answer = await _call(session, url, {"PageNum": page, "PageSize": size})
        assert status == 200 and "Error" not in answer["ResponseMetadata"]
        result = answer["Result"]
        seen += [task["TaskId"] for task in result["List"]]
        if page >= result["Pagination"]["PageTotal"] or len(result["List"]) < size:
            return seen
        page += 1


@pytest.fixture
def sandbox() -> VolcengineSandbox:
    twin = VolcengineSandbox(credentials={AK: SK}, clock=lambda: NOW)
    twin.add_tasks(generate_pull_record_tasks(NOW, count=COUNT))
    return twin


@pytest.fixture
def order(sandbox: VolcengineSandbox) -> list[str]:
    """TaskIds in the order the twin lists them before anything changes."""
    return [task["TaskId"] for task in sandbox.ordered_tasks()]


async def test_signed_scan_pages_through_every_task_once(sandbox, url, session, order) -> None:
    seen = await _naive_scan(session, url)
    assert seen == order and sorted(seen) == sorted(sandbox.tasks)
    created = [sandbox.tasks[task]["CreateTime"] for task in seen]
    assert created == sorted(created, reverse=True)


async def test_pagination_reports_page_count_and_total(url, session, order) -> None:
    _, answer = await _call(session, url, {"PageNum": 2, "PageSize": 30})
    assert [task["TaskId"] for task in answer["Result"]["List"]] == order[30:60]
    pagination = {"PageCur": 2, "PageSize": 30, "PageTotal": 3, "TotalCount": COUNT}
    assert answer["Result"]["Pagination"] == pagination
    _, past = await _call(session, url, {"PageNum": 9, "PageSize": 20})
    assert past["Result"]["List"] == []
    assert past["Result"]["Pagination"] == {
        **pagination,
        "PageCur": 9,
        "PageSize": 20,
        "PageTotal": 4,
    }


async def test_items_are_the_eight_fields_kept_verbatim(sandbox, url, session) -> None:
    _, answer = await _call(session, url, {"PageNum": 1, "PageSize": 500})
    items = answer["Result"]["List"]
    assert all(list(item) == list(FIELDS) for item in items)
    assert all(item == {f: sandbox.tasks[item["TaskId"]][f] for f in FIELDS} for item in items)
    assert any(item["StartTime"].endswith("+08:00") for item in items)
    assert any(item["StartTime"].endswith("Z") for item in items)
    assert {item["Status"] for item in items} == {"停用", "未开始", "生效中", "已结束"}


async def test_oldest_first_order(session) -> None:
    tasks = generate_pull_record_tasks(NOW, count=COUNT)  # by (CreateTime, TaskId)
    twin = VolcengineSandbox(credentials={AK: SK}, clock=lambda: NOW, order="oldest_first")
    twin.add_tasks(reversed(tasks))
    async with twin.serve() as server:
        assert await _naive_scan(session, server.url) == [task["TaskId"] for task in tasks]


def _shuffled(tasks: list[dict[str, Any]], seed: int) -> list[str]:
    twin = VolcengineSandbox(credentials={}, order="shuffled", shuffle_seed=seed)
    twin.add_tasks(tasks)
    return [task["TaskId"] for task in twin.ordered_tasks()]


async def test_shuffled_order_is_stable_per_seed(session) -> None:
    tasks = generate_pull_record_tasks(NOW, count=COUNT)
    twin = VolcengineSandbox(credentials={AK: SK}, clock=lambda: NOW, order="shuffled")
    twin.add_tasks(tasks)
    async with twin.serve() as server:
        seen = await _naive_scan(session, server.url, size=30)
    oldest = [task["TaskId"] for task in tasks]
    assert sorted(seen) == sorted(oldest) and seen not in (oldest, oldest[::-1])
    assert seen == _shuffled(tasks[::-1], seed=0) != _shuffled(tasks, seed=7)


async def test_filters_match_exactly_and_empty_filters_nothing(sandbox, url, session) -> None:
    _, answer = await _call(session, url, {"PageNum": 1, "PageSize": 500, "Vhost": "live.acme.cn"})
    wanted = sorted(t for t, task in sandbox.tasks.items() if task["Vhost"] == "live.acme.cn")
    assert sorted(task["TaskId"] for task in answer["Result"]["List"]) == wanted
    assert answer["Result"]["Pagination"]["TotalCount"] == len(wanted) < COUNT
    _, everything = await _call(session, url, {"PageNum": 1, "PageSize": 20, "App": ""})
    assert everything["Result"]["Pagination"]["TotalCount"] == COUNT


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"PageNum": 1, "PageSize": 501}, "PageSize"),
        ({"PageNum": 1, "PageSize": 0}, "PageSize"),
        ({"PageNum": 1, "PageSize": "20"}, "PageSize"),
        ({"PageNum": 1}, "PageSize"),
        ({"PageNum": 0, "PageSize": 20}, "PageNum"),
        ({"PageNum": True, "PageSize": 20}, "PageNum"),
        ({"PageNum": 1.0, "PageSize": 20}, "PageNum"),
        ({"PageSize": 20}, "PageNum"),
        ({"PageNum": 1, "PageSize": 20, "Vhost": 5}, "Vhost"),
    ],
)
async def test_bad_paging_is_invalid_param_naming_the_field(url, session, params, field) -> None:
    status, answer = await _call(session, url, params)
    error = _refusal(answer)
    assert (status, error["Code"]) == (400, "InvalidParam")
    assert field in error["Message"]


@pytest.mark.parametrize("params", [{"PageNum": 1, "PageSize": 20, "Status": "生效中"}, [1, 2]])
async def test_unknown_fields_and_non_objects_are_bind_errors(url, session, params) -> None:
    status, answer = await _call(session, url, params)
    assert (status, _refusal(answer)["Code"]) == (400, "InvalidParam.BindError")


async def test_max_page_size_is_configurable(session) -> None:
    twin = VolcengineSandbox(credentials={AK: SK}, clock=lambda: NOW, max_page_size=100)
    async with twin.serve() as server:
        ok, _ = await _call(session, server.url, {"PageNum": 1, "PageSize": 100})
        refused, answer = await _call(session, server.url, {"PageNum": 1, "PageSize": 101})
    assert (ok, refused, _refusal(answer)["Code"]) == (200, 400, "InvalidParam")


async def test_tampered_body_does_not_match(url, session) -> None:
    target, headers, _ = _request(url, {"PageNum": 1, "PageSize": 20})
    tampered = json.dumps({"PageNum": 2, "PageSize": 20}).encode()
    status, answer = await _post(session, target, headers, tampered)
    assert (status, _refusal(answer)["Code"]) == (401, "SignatureDoesNotMatch")
    # Even with a matching body hash the signature itself no longer fits.
    rehashed = {**headers, "X-Content-Sha256": sha256_hex(tampered)}
    status, answer = await _post(session, target, rehashed, tampered)
    assert (status, _refusal(answer)["Code"]) == (401, "SignatureDoesNotMatch")


# Each case: options for `_request`, header edits after signing (None deletes), the refusal.
AUTH_REFUSALS = [
    pytest.param({"ak": "AKLTnobody"}, {}, 401, "InvalidAccessKey", id="unknown-access-key"),
    pytest.param({}, {"Authorization": None}, 400, "MissingRequestInfo", id="no-authorization"),
    pytest.param({}, {"X-Date": None}, 400, "MissingRequestInfo", id="no-x-date"),
    pytest.param({}, {"X-Content-Sha256": None}, 400, "MissingRequestInfo", id="no-body-hash"),
    pytest.param({"at": NOW - 901}, {}, 400, "InvalidTimestamp", id="stale"),
    pytest.param({"at": NOW + 901}, {}, 400, "InvalidTimestamp", id="future"),
    pytest.param({}, {"X-Date": "20231115T061320+0800"}, 400, "InvalidTimestamp", id="x-date-cst"),
    pytest.param({}, {"X-Date": "2023-11-14T22:13:20Z"}, 400, "InvalidTimestamp", id="x-date-iso"),
    pytest.param(
        {},
        {"Authorization": "HMAC-SHA256 Credential=AKLTsandbox"},
        401,
        "SignatureDoesNotMatch",
        id="malformed",
    ),
    pytest.param({"secret": "wrong"}, {}, 401, "SignatureDoesNotMatch", id="wrong-secret"),
    pytest.param({"region": "cn-beijing"}, {}, 401, "SignatureDoesNotMatch", id="region"),
    pytest.param({"service": "vod"}, {}, 401, "SignatureDoesNotMatch", id="service"),
    pytest.param({"path": "/live"}, {}, 401, "SignatureDoesNotMatch", id="path"),
    pytest.param({"unsigned": ("Host",)}, {}, 401, "SignatureDoesNotMatch", id="host-unsigned"),
    pytest.param({"unsigned": ("X-Date",)}, {}, 401, "SignatureDoesNotMatch", id="date-unsigned"),
    # The SDK drops only :80 and :443; to 127.0.0.1:PORT the Host carries its port.
    pytest.param({"sign_host": "127.0.0.1"}, {}, 401, "SignatureDoesNotMatch", id="host-port"),
]
CODE_N = {
    "MissingRequestInfo": 100004,
    "InvalidTimestamp": 100006,
    "InvalidAccessKey": 100009,
    "SignatureDoesNotMatch": 100010,
}


@pytest.mark.parametrize(("options", "edits", "status", "code"), AUTH_REFUSALS)
async def test_authentication_refusals(url, session, options, edits, status, code) -> None:
    target, headers, body = _request(url, PAGE, **options)
    for name, value in edits.items():
        headers.pop(name)
        if value is not None:
            headers[name] = value
    got, answer = await _post(session, target, headers, body)
    error = _refusal(answer)
    assert (got, error["Code"], error["CodeN"]) == (status, code, CODE_N[code])


@pytest.mark.parametrize("skew", [-900, 900])
async def test_x_date_up_to_900_seconds_off_is_accepted(url, session, skew) -> None:
    assert (await _call(session, url, PAGE, at=NOW + skew))[0] == 200


async def test_x_expires_in_the_query_sets_the_validity(url, session) -> None:
    query = {"Action": LIST, "Version": "2023-01-01", "X-Expires": "3600"}
    assert (await _call(session, url, PAGE, at=NOW - 3600, query=query))[0] == 200
    assert (await _call(session, url, PAGE, at=NOW - 3601, query=query))[0] == 400


async def test_content_type_need_not_be_signed(url, session) -> None:
    assert (await _call(session, url, PAGE, unsigned=("Content-Type",)))[0] == 200


@pytest.mark.parametrize(
    ("query", "status", "code", "code_n"),
    [
        ({"Version": "2023-01-01"}, 400, "MissingParameter", 100002),
        ({"Action": LIST}, 400, "MissingParameter", 100002),
        (
            {"Action": "ListRecordTask", "Version": "2023-01-01"},
            404,
            "InvalidActionOrVersion",
            100008,
        ),
        ({"Action": LIST, "Version": "2020-08-01"}, 404, "InvalidActionOrVersion", 100008),
    ],
)
async def test_action_and_version_come_from_the_query(url, session, query, status, code, code_n):
    got, answer = await _call(session, url, PAGE, query=query)
    error = _refusal(answer, query.get("Action", ""))
    assert (got, error["Code"], error["CodeN"]) == (status, code, code_n)


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
async def test_request_captured_from_the_official_sdk_is_answered(session, vector) -> None:
    given, expected = vector["input"], vector["expected"]
    twin = VolcengineSandbox(
        credentials={given["access_key_id"]: given["secret_access_key"]},
        clock=lambda: given["unix_time"],
    )
    async with twin.serve() as server:
        target = f"{server.url}/?Action={LIST}&Version=2023-01-01"
        body = given["body"].encode("utf-8")
        # The vector's Host header is live.volcengineapi.com, and the twin checks what it receives.
        status, answer = await _post(session, target, expected["request_headers"], body)
    assert (status, answer["Result"]["List"]) == (200, [])


@pytest.mark.parametrize(
    ("fault", "status", "code", "code_n"),
    [
        (FaultKind.INTERNAL_ERROR, 200, "CommonErr", None),
        (FaultKind.RATE_LIMIT, 429, "FlowLimitExceeded", 100018),
        (FaultKind.SIGNATURE_EXPIRED, 400, "InvalidTimestamp", 100006),
    ],
)
async def test_envelope_faults(sandbox, url, session, fault, status, code, code_n) -> None:
    sandbox.faults = FaultPlan.script([fault])
    got, answer = await _call(session, url, PAGE)
    error = _refusal(answer)  # CommonErr too: an error in an HTTP 200, with no Result
    assert (got, error["Code"], error.get("CodeN")) == (status, code, code_n)
    again, answer = await _call(session, url, PAGE)
    assert again == 200 and len(answer["Result"]["List"]) == 20
    assert [r.outcome for r in sandbox.requests] == [str(fault), "ok"]
    assert sandbox.requests[0].account == AK


async def test_transport_faults_use_the_shared_helper(sandbox, url, session) -> None:
    sandbox.faults = FaultPlan.script([FaultKind.HTTP_5XX], action=LIST)
    target, headers, body = _request(url, PAGE)
    async with session.post(target, data=body, headers=headers) as response:
        assert response.status == 502
        assert response.content_type == "text/html"


async def test_inserting_between_pages_shows_a_task_twice(sandbox, url, session, order) -> None:
    # A new task lands at the front (newest first): every later task moves one place down.
    new = {"TaskId": "f" * 32, "StartTime": "2023-11-14T23:00:00Z", "Status": "未开始"}
    sandbox.on_request(LIST, 2, lambda twin: twin.add_tasks([new]))
    seen = await _naive_scan(session, url)
    assert [task for task, times in Counter(seen).items() if times > 1] == [order[19]]
    assert new["TaskId"] not in seen and len(seen) == COUNT + 1
    _, answer = await _call(session, url, {"PageNum": 1, "PageSize": 1})
    assert answer["Result"]["List"] == [new]
    assert answer["Result"]["Pagination"]["TotalCount"] == COUNT + 1


async def test_deleting_between_pages_skips_a_task(sandbox, url, session, order) -> None:
    sandbox.on_request(LIST, 2, lambda twin: twin.delete_task(order[0]))
    seen = await _naive_scan(session, url)
    assert len(seen) == len(set(seen)) == COUNT - 1
    assert order[20] not in seen and order[20] in sandbox.tasks


async def test_hook_counts_only_requests_that_reach_the_handler(sandbox, url, session) -> None:
    sandbox.on_request(
        LIST, 1, lambda twin: twin.update_task(next(iter(twin.tasks)), Status="Paused")
    )
    refused, _ = await _call(session, url, PAGE, ak="AKLTnobody")
    assert refused == 401 and "Paused" not in {t["Status"] for t in sandbox.tasks.values()}
    _, answer = await _call(session, url, {"PageNum": 1, "PageSize": 500})
    assert "Paused" in {task["Status"] for task in answer["Result"]["List"]}


@pytest.mark.parametrize("shape", ["flat", "detail"])
async def test_get_answers_one_task_in_either_documented_shape(sandbox, url, session, shape):
    sandbox.get_shape = shape
    task_id, stored = next(iter(sandbox.tasks.items()))
    status, answer = await _call(session, url, {"TaskID": task_id}, action=GET)
    expected = {field: stored[field] for field in FIELDS}
    assert status == 200
    assert answer["Result"] == (expected if shape == "flat" else {"TaskDetail": expected})


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"TaskId": "x"}, 400, "InvalidParam"),
        ({"TaskID": ""}, 400, "InvalidParam"),
        ({"TaskID": 12}, 400, "InvalidParam"),
        ({"TaskID": "x", "Vhost": "example.com"}, 400, "InvalidParam.BindError"),
        ({"TaskID": "0" * 32}, 404, "ResourceNotFound"),
    ],
)
async def test_get_wants_task_id_with_capital_d(url, session, params, status, code) -> None:
    got, answer = await _call(session, url, params, action=GET)
    assert (got, _refusal(answer, GET)["Code"]) == (status, code)


async def test_list_omits_drops_fields_from_the_list_only(session) -> None:
    twin = VolcengineSandbox(
        credentials={AK: SK}, clock=lambda: NOW, list_omits=frozenset({"StartTime", "Stream"})
    )
    twin.add_tasks(generate_pull_record_tasks(NOW, count=5))
    async with twin.serve() as server:
        _, listed = await _call(session, server.url, PAGE)
        task_id = listed["Result"]["List"][0]["TaskId"]
        _, single = await _call(session, server.url, {"TaskID": task_id}, action=GET)
    assert all(
        set(item) == set(FIELDS) - {"StartTime", "Stream"} for item in listed["Result"]["List"]
    )
    assert set(single["Result"]) == set(FIELDS)


async def test_bursts_over_the_documented_rates_are_flow_limited(session) -> None:
    twin = VolcengineSandbox(
        credentials={AK: SK, "AKLTother": SK}, clock=lambda: NOW, monotonic=lambda: 0.0
    )
    twin.add_tasks(generate_pull_record_tasks(NOW, count=3))
    task_id = next(iter(twin.tasks))
    async with twin.serve() as server:
        lists = await asyncio.gather(*(_call(session, server.url, PAGE) for _ in range(55)))
        gets = await asyncio.gather(
            *(_call(session, server.url, {"TaskID": task_id}, action=GET) for _ in range(12))
        )
        other, _ = await _call(session, server.url, PAGE, ak="AKLTother")
    assert Counter(status for status, _ in lists) == {200: 50, 429: 5}
    assert Counter(status for status, _ in gets) == {200: 10, 429: 2}
    limited = next(answer for status, answer in lists if status == 429)
    assert _refusal(limited)["Code"] == "FlowLimitExceeded"
    assert _refusal(limited)["CodeN"] == 100018
    assert other == 200


def test_generator_is_deterministic_per_seed() -> None:
    assert generate_pull_record_tasks(NOW, seed=3) == generate_pull_record_tasks(NOW, seed=3)
    assert generate_pull_record_tasks(NOW, seed=3) != generate_pull_record_tasks(NOW, seed=4)


def _phase(task: dict[str, Any]) -> str:
    start = datetime.fromisoformat(task["StartTime"]).timestamp()
    end = datetime.fromisoformat(task["EndTime"]).timestamp()
    if end <= NOW:
        return "已结束"
    return "未开始" if start > NOW else "生效中"


def test_generated_tasks_mix_offsets_and_match_statuses_to_times() -> None:
    tasks = generate_pull_record_tasks(NOW, count=1000)
    assert len({task["TaskId"] for task in tasks}) == 1000
    assert all(len(t["TaskId"]) == 32 and int(t["TaskId"], 16) >= 0 for t in tasks)
    utc = [t for t in tasks if t["StartTime"].endswith("Z") and t["EndTime"].endswith("Z")]
    beijing = [
        t for t in tasks if t["StartTime"].endswith("+08:00") and t["EndTime"].endswith("+08:00")
    ]
    assert len(utc) + len(beijing) == 1000 and 400 < len(utc) < 600
    assert all(len(t["StartTime"]) in (20, 25) for t in tasks)  # second precision
    stopped = [t for t in tasks if t["Status"] == "停用"]
    assert 50 < len(stopped) < 150
    assert all(t["Status"] == _phase(t) for t in tasks if t["Status"] != "停用")
    assert Counter(_phase(t) for t in tasks).keys() == {"已结束", "生效中", "未开始"}
    assert all(
        t["CreateTime"] <= min(NOW, datetime.fromisoformat(t["StartTime"]).timestamp())
        for t in tasks
    )


def test_one_task_at_a_time_per_stream() -> None:
    tasks = generate_pull_record_tasks(NOW, count=1000)
    spans: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for task in tasks:
        key = (task["Vhost"], task["App"], task["Stream"])
        span = tuple(datetime.fromisoformat(task[f]).timestamp() for f in ("StartTime", "EndTime"))
        spans.setdefault(key, []).append(span)
    for intervals in spans.values():
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals))
