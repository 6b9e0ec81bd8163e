"""The ZEGO twin's DescribeTasks follows the contract, checked over real HTTP with our signer."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import aiohttp
import pytest

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.sandbox import ZegoSandbox
from pipeline.vendors.zego.signer import auth_query, new_nonce
from tests.vectors import load_vectors

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
NOW_MS = NOW * 1000
DAY_MS = 86_400_000
APP_ID, SECRET = 1234567890, "secretSANDBOX"
OTHER_APP, OTHER_SECRET = 987654321, "otherSANDBOX"
ACTION = "DescribeTasks"
COUNT = 120
WINDOW = {"StartTime": NOW_MS - 3 * DAY_MS, "EndTime": NOW_MS}
BY_FILTER = {2: {1, 2, 5}, 3: {3, 4}}


def _query(*, app_id: int = APP_ID, secret: str = SECRET, at: int = NOW) -> dict[str, str]:
    return {"Action": ACTION, **auth_query(app_id, secret, at, new_nonce())}


async def _post(
    session: aiohttp.ClientSession, url: str, query: dict[str, str], body: Any
) -> dict[str, Any]:
    async with session.post(url + "/", params=query, json=body) as response:
        assert response.status == 200
        return await response.json()


async def _call(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], **signing: Any
) -> dict[str, Any]:
    """A DescribeTasks call signed with our signer; the whole envelope comes back."""
    return await _post(session, url, _query(**signing), body)


async def _read_all(
    session: aiohttp.ClientSession, url: str, status: int, size: int = 50
) -> list[str]:
    """PageOffset 1, 2, ... until PageOffset x PageSize reaches TotalCount: the contract's loop."""
    seen, page = [], 1
    while True:
        answer = await _call(
            session, url, {"Status": status, **WINDOW, "PageOffset": page, "PageSize": size}
        )
        data = answer["Data"]
        seen += [task["TaskId"] for task in data["TaskidList"]]
        if page * size >= data["TotalCount"] or len(data["TaskidList"]) < size:
            return seen
        page += 1


def _expected(sandbox: ZegoSandbox, status: int) -> list[str]:
    tasks = [t for t in sandbox.tasks.values() if t["Status"] in BY_FILTER[status]]
    tasks.sort(key=lambda t: (-t["RecordBeginTimestamp"], t["TaskId"]))
    return [t["TaskId"] for t in tasks]


def _twin(**options: Any) -> ZegoSandbox:
    options.setdefault("rate_limits", {ACTION: 1000})  # fast; the burst test sets its own
    credentials = {APP_ID: SECRET, OTHER_APP: OTHER_SECRET}
    return ZegoSandbox(credentials=credentials, clock=lambda: NOW, **options)


@pytest.fixture
def sandbox() -> ZegoSandbox:
    twin = _twin()
    twin.add_tasks(generate_zego_tasks(NOW, count=COUNT))
    return twin


@pytest.mark.parametrize("status", [2, 3])
async def test_page_numbers_read_every_task_of_a_filter_once(sandbox, url, session, status) -> None:
    size = 2 if status == 2 else 50  # few tasks are recording at any moment
    seen = await _read_all(session, url, status, size=size)
    assert seen == _expected(sandbox, status)  # newest first, each task once
    assert len(seen) == len(set(seen)) > size


async def test_both_filters_together_cover_every_task(sandbox, url, session) -> None:
    seen = await _read_all(session, url, 2) + await _read_all(session, url, 3)
    assert sorted(seen) == sorted(sandbox.tasks)


async def test_success_envelope_and_defaults(sandbox, url, session) -> None:
    for body in ({"Status": 3, **WINDOW}, {"Status": 3, **WINDOW, "PageOffset": 0}):
        answer = await _call(session, url, body)
        assert (answer["Code"], answer["Message"]) == (0, "succeed") and answer["RequestId"]
        data = answer["Data"]
        assert (data["PageOffset"], data["PageSize"]) == (1, 50)
        assert data["TotalCount"] == len(_expected(sandbox, 3)) > 100
        first = data["TaskidList"][0]
        assert first == sandbox.tasks[first["TaskId"]]
        assert list(first) == ["RecordBeginTimestamp", "TaskId", "RoomId", "Status"]


async def test_record_offsets_as_page_offsets_skip_tasks(sandbox, url, session) -> None:
    # Trap 20: 0, 50, 100 read page 1, then pages 50 and 100, which are empty.
    seen = []
    for offset in (0, 50, 100):
        body = {"Status": 3, **WINDOW, "PageOffset": offset, "PageSize": 50}
        seen += [t["TaskId"] for t in (await _call(session, url, body))["Data"]["TaskidList"]]
    assert seen == _expected(sandbox, 3)[:50]
    assert len(_expected(sandbox, 3)) > 100


@pytest.mark.parametrize("key", ["TaskidList", "TaskList"])
async def test_list_key_names_the_array(session, key) -> None:
    twin = _twin(list_key=key)
    twin.add_tasks(generate_zego_tasks(NOW, count=10))
    async with twin.serve() as server:
        data = (await _call(session, server.url, {"Status": 3, **WINDOW}))["Data"]
    assert set(data) == {"PageOffset", "PageSize", "TotalCount", key}
    assert len(data[key]) == data["TotalCount"] > 0


async def test_list_key_none_sends_no_array_despite_a_total(session) -> None:
    twin = _twin(list_key="none")
    twin.add_tasks(generate_zego_tasks(NOW, count=10))
    async with twin.serve() as server:
        data = (await _call(session, server.url, {"Status": 3, **WINDOW}))["Data"]
    assert data["TotalCount"] > 0
    assert not {"TaskidList", "TaskList"} & set(data)


def test_unknown_list_key_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="list_key"):
        ZegoSandbox(credentials={}, list_key="Tasks")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"StartTime": NOW_MS - 3 * DAY_MS, "EndTime": NOW_MS + 1}, "exceed 3 days"),  # 3 d + 1 ms
        ({"StartTime": NOW_MS - 3 * DAY_MS - 1, "EndTime": NOW_MS - DAY_MS}, "StartTime"),
        ({"StartTime": NOW - DAY_MS // 1000, "EndTime": NOW}, "StartTime"),  # seconds, not ms
        ({"StartTime": NOW_MS, "EndTime": NOW_MS}, "EndTime"),
        ({"EndTime": NOW_MS}, "StartTime"),
        ({"StartTime": NOW_MS - 1000}, "EndTime"),
        ({**WINDOW, "StartTime": float(NOW_MS - 1000)}, "StartTime"),
        ({**WINDOW, "PageSize": 0}, "PageSize"),
        ({**WINDOW, "PageSize": 51}, "PageSize"),
        ({**WINDOW, "PageOffset": -1}, "PageOffset"),
        ({**WINDOW, "RoomId": 1000}, "RoomId"),
        ({**WINDOW, "Pageoffset": 2}, "Pageoffset"),
    ],
)
async def test_body_rules_refuse_with_300000004_naming_the_field(url, session, body, field) -> None:
    answer = await _call(session, url, {"Status": 2, **body})
    assert answer["Code"] == 300000004
    assert field in answer["Message"]
    assert "Data" not in answer


@pytest.mark.parametrize("status", [None, 1, 4, 5, "2", True])
async def test_only_status_filters_2_and_3_are_accepted(url, session, status) -> None:
    body = dict(WINDOW) if status is None else {"Status": status, **WINDOW}
    answer = await _call(session, url, body)
    assert (answer["Code"], "Status" in answer["Message"]) == (300000004, True)


async def test_window_of_exactly_3_days_and_its_bounds_are_inclusive(sandbox, url, session) -> None:
    start, end = WINDOW["StartTime"], WINDOW["EndTime"]
    sandbox.add_tasks(
        [
            {
                "TaskId": "edge-start-00001",
                "RoomId": "1",
                "RecordBeginTimestamp": start,
                "Status": 3,
            },
            {"TaskId": "edge-end-0000001", "RoomId": "1", "RecordBeginTimestamp": end, "Status": 3},
        ]
    )
    answer = await _call(session, url, {"Status": 3, **WINDOW, "RoomId": "1"})
    assert [t["TaskId"] for t in answer["Data"]["TaskidList"]] == [
        "edge-end-0000001",
        "edge-start-00001",
    ]


async def test_room_filter(sandbox, url, session) -> None:
    room = next(iter(sandbox.tasks.values()))["RoomId"]
    answer = await _call(session, url, {"Status": 3, **WINDOW, "RoomId": room})
    listed = answer["Data"]["TaskidList"]
    assert listed and {t["RoomId"] for t in listed} == {room}


async def test_wrong_secret_is_refused_with_100000005(url, session) -> None:
    answer = await _call(session, url, {"Status": 2, **WINDOW}, secret="not-the-secret")
    assert (answer["Code"], "Data" in answer) == (100000005, False)


@pytest.mark.parametrize(("at", "code"), [(NOW - 601, 100000004), (NOW + 601, 100000004)])
async def test_stale_timestamp_is_refused_with_100000004(url, session, at, code) -> None:
    assert (await _call(session, url, {"Status": 2, **WINDOW}, at=at))["Code"] == code
    assert (await _call(session, url, {"Status": 2, **WINDOW}, at=NOW - 600))["Code"] == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Action": None}, 100000006),
        ({"Action": "DescribeTask"}, 100000007),
        ({"AppId": None}, 100000001),
        ({"AppId": "12x"}, 100000001),
        ({"AppId": "42"}, 100000010),
        ({"Timestamp": None}, 100000002),
        ({"Timestamp": str(NOW_MS)}, 100000003),  # milliseconds in the signed Timestamp
        ({"SignatureNonce": None}, 100000008),
        ({"Signature": None}, 100000009),
        ({"SignatureVersion": None}, 100000013),
        ({"SignatureVersion": "1.0"}, 100000014),
    ],
)
async def test_gateway_checks_answer_their_codes(url, session, change, code) -> None:
    query = {k: v for k, v in {**_query(), **change}.items() if v is not None}
    answer = await _post(session, url, query, {"Status": 2, **WINDOW})
    assert answer["Code"] == code and answer["Message"] and answer["RequestId"]


async def test_body_is_not_signed_and_must_be_an_object(url, session) -> None:
    query = _query()
    assert (await _post(session, url, query, {"Status": 3, **WINDOW}))["Code"] == 0
    assert (await _post(session, url, query, {"Status": 2, **WINDOW}))["Code"] == 0
    assert (await _post(session, url, query, '{"Status": 2}'))["Code"] == 300000004


async def test_recording_task_ending_between_pages_hides_one_from_a_naive_reader(session) -> None:
    twin = _twin()
    begin = NOW_MS - 3_600_000
    twin.add_tasks(
        {"TaskId": f"REC{n:013d}", "RoomId": "1000", "RecordBeginTimestamp": begin - n, "Status": 2}
        for n in range(6)
    )
    order = sorted(twin.tasks)
    twin.on_request(ACTION, 2, lambda sandbox: sandbox.set_status(order[0], 3))
    async with twin.serve() as server:
        seen = await _read_all(session, server.url, 2, size=3)
        ended = await _read_all(session, server.url, 3)
    assert seen == [order[0], order[1], order[2], order[4], order[5]]
    assert order[3] not in seen and order[3] in twin.tasks  # shifted onto page 1, already read
    assert ended == [order[0]]


async def test_burst_over_10_per_second_is_refused_with_300000003(session) -> None:
    twin = ZegoSandbox(
        credentials={APP_ID: SECRET, OTHER_APP: OTHER_SECRET},
        clock=lambda: NOW,
        monotonic=lambda: 0.0,
    )
    body = {"Status": 2, **WINDOW}
    async with twin.serve() as server:
        answers = await asyncio.gather(*(_call(session, server.url, body) for _ in range(13)))
        other = await _call(session, server.url, body, app_id=OTHER_APP, secret=OTHER_SECRET)
    assert Counter(answer["Code"] for answer in answers) == {0: 10, 300000003: 3}
    assert other["Code"] == 0  # the limit is per AppId
    assert twin.requests.outcomes(ACTION) == {"ok": 11, "300000003": 3}


async def test_envelope_and_transport_faults(sandbox, url, session) -> None:
    script = [FaultKind.RATE_LIMIT, FaultKind.INTERNAL_ERROR, FaultKind.SIGNATURE_EXPIRED, None]
    sandbox.faults = FaultPlan.script([*script, FaultKind.HTTP_5XX])
    body = {"Status": 2, **WINDOW}
    codes = [(await _call(session, url, body))["Code"] for _ in script]
    assert codes == [300000003, 300010000, 100000004, 0]
    async with session.post(url + "/", params=_query(), json=body) as response:
        assert response.status == 502


async def test_requests_are_logged_with_params_outcome_and_app_id(sandbox, url, session) -> None:
    body = {"Status": 3, **WINDOW, "PageSize": 5}
    await _call(session, url, body)
    await _call(session, url, body, secret="wrong")
    ok, refused = sandbox.requests.of(ACTION)
    assert (ok.params, ok.outcome, ok.account, ok.at) == (body, "ok", str(APP_ID), NOW)
    assert refused.outcome == "100000005"


async def test_hook_counts_only_requests_that_reach_the_handler(sandbox, url, session) -> None:
    new = {"TaskId": "NEW-task-0000001", "RoomId": "9", "RecordBeginTimestamp": NOW_MS, "Status": 2}
    sandbox.on_request(ACTION, 1, lambda twin: twin.add_tasks([new]))
    await _call(session, url, {"Status": 2, **WINDOW}, secret="wrong")
    assert new["TaskId"] not in sandbox.tasks
    answer = await _call(session, url, {"Status": 2, **WINDOW, "PageSize": 1})
    assert answer["Data"]["TaskidList"] == [new]


async def test_request_vector_is_answered(session) -> None:
    (vector,) = load_vectors("zego_describe_tasks")
    given, expected = vector["input"], vector["expected"]
    twin = ZegoSandbox(
        credentials={given["app_id"]: given["server_secret"]}, clock=lambda: given["timestamp"]
    )
    twin.add_tasks(generate_zego_tasks(given["timestamp"], count=5))
    async with twin.serve() as server:
        answer = await _post(session, server.url, expected["query"], given["body_json"])
    assert answer["Code"] == 0 and answer["Data"]["PageSize"] == 50


def test_task_records_are_checked_on_the_way_in(sandbox) -> None:
    with pytest.raises(ValueError, match="Status"):
        sandbox.add_tasks([{"TaskId": "x", "RoomId": "1", "RecordBeginTimestamp": 1, "Status": 6}])
    with pytest.raises(ValueError, match="RoomId"):
        sandbox.add_tasks([{"TaskId": "x", "RecordBeginTimestamp": 1, "Status": 2}])
    with pytest.raises(ValueError, match="Status"):
        sandbox.set_status(next(iter(sandbox.tasks)), 0)


def test_generator_is_deterministic_per_seed() -> None:
    assert generate_zego_tasks(NOW, seed=3) == generate_zego_tasks(NOW, seed=3)
    assert generate_zego_tasks(NOW, seed=3) != generate_zego_tasks(NOW, seed=4)


def test_generated_tasks_look_like_zegos() -> None:
    tasks = generate_zego_tasks(NOW, count=2000, days_back=1)
    ids = [t["TaskId"] for t in tasks]
    assert len(set(ids)) == 2000
    assert all(re.fullmatch(r"[A-Za-z0-9-]{16}", task_id) for task_id in ids)
    assert sum("-" in i for i in ids) > 100
    assert sum(i not in (i.lower(), i.upper()) for i in ids) > 1900  # mixed case
    assert all(NOW_MS - DAY_MS <= t["RecordBeginTimestamp"] <= NOW_MS for t in tasks)
    assert [t["RecordBeginTimestamp"] for t in tasks] == sorted(
        (t["RecordBeginTimestamp"] for t in tasks), reverse=True
    )
    assert set(Counter(t["Status"] for t in tasks)) == {1, 2, 3, 4, 5}


def test_generated_statuses_follow_the_time() -> None:
    tasks = generate_zego_tasks(NOW, count=1000)
    old = [t["Status"] for t in tasks if t["RecordBeginTimestamp"] < NOW_MS - DAY_MS]
    assert set(old) == {3, 4} and 0.01 < old.count(4) / len(old) < 0.1  # a task lasts ≤ 24 h
    fresh = [t["Status"] for t in tasks if t["RecordBeginTimestamp"] > NOW_MS - 600_000]
    assert all(status in {1, 2, 5} for status in fresh)
    assert all(t["Status"] != 1 or t["RecordBeginTimestamp"] > NOW_MS - 600_000 for t in tasks)
