"""The Tencent sandbox follows Tencent's documented contract, checked over real HTTP."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

import aiohttp
import pytest

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.server import SandboxServer
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.sandbox_clients import SECRET_ID, SECRET_KEY, tencent_call, tencent_post, tencent_request
from tests.vectors import load_vectors

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z, already 2023-11-15 in Beijing
DAY = 86_400
WINDOW = (NOW - 3 * DAY, NOW - 2 * DAY)


def _task(task_id: str, start: int, end: int, **fields: Any) -> dict[str, Any]:
    base = {"DomainName": "5000.live.push.com", "AppName": "live", "StreamName": "livetest"}
    return {"TaskId": task_id, **base, "StartTime": start, "EndTime": end, **fields}


def _many(count: int) -> list[dict[str, Any]]:
    return [_task(f"t{i:02d}", WINDOW[0] + i, WINDOW[0] + 60 + i) for i in range(count)]


_request = partial(tencent_request, action="DescribeRecordTask", timestamp=NOW)
_call = partial(tencent_call, action="DescribeRecordTask", timestamp=NOW)


def _window(**extra: Any) -> dict[str, Any]:
    return {"StartTime": WINDOW[0], "EndTime": WINDOW[1], **extra}


@pytest.fixture
def sandbox() -> TencentSandbox:
    twin = TencentSandbox(credentials={SECRET_ID: SECRET_KEY}, clock=lambda: NOW, page_size=10)
    twin.add_record_tasks([_task("inside", WINDOW[0] + 100, WINDOW[0] + 3700)])
    return twin


async def test_server_binds_an_ephemeral_loopback_port(sandbox: TencentSandbox) -> None:
    async with SandboxServer(sandbox.make_app()) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port > 0


async def test_correctly_signed_request_gets_tasks(sandbox, url, session) -> None:
    answer = await _call(session, url, _window())
    assert [task["TaskId"] for task in answer["TaskList"]] == ["inside"]
    assert answer["ScrollToken"] == ""
    assert answer["RequestId"]
    assert [(r.action, r.outcome, r.account) for r in sandbox.requests] == [
        ("DescribeRecordTask", "ok", SECRET_ID)
    ]


async def test_tasks_come_back_exactly_as_stored(sandbox, url, session) -> None:
    answer = await _call(session, url, _window())
    assert answer["TaskList"] == [sandbox.record_tasks["inside"]]
    assert set(answer["TaskList"][0]) == {
        "TaskId",
        "DomainName",
        "AppName",
        "StreamName",
        "StartTime",
        "EndTime",
        "TemplateId",
        "Stopped",
    }


@pytest.mark.parametrize(
    "vector", load_vectors("tencent_describe_record_task"), ids=lambda vector: vector["name"]
)
async def test_request_captured_from_the_official_sdk_passes_the_signature_check(
    session, vector
) -> None:
    given, expected = vector["input"], vector["expected"]
    twin = TencentSandbox(
        credentials={given["secret_id"]: given["secret_key"]}, clock=lambda: given["timestamp"]
    )
    async with twin.serve() as server:
        body = given["body"].encode("utf-8")
        answer = await tencent_post(session, server.url, expected["request_headers"], body)
    assert not answer.get("Error", {}).get("Code", "").startswith("AuthFailure")


async def test_body_other_than_the_signed_one_fails_the_signature(url, session) -> None:
    headers, _ = _request(url, _window())
    tampered = json.dumps(_window(StreamName="other")).encode()
    answer = await tencent_post(session, url, headers, tampered)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"


async def test_reserialized_body_fails_the_signature(url, session) -> None:
    headers, body = _request(url, _window())
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    answer = await tencent_post(session, url, headers, compact)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"


async def test_timestamp_more_than_five_minutes_off_is_expired(url, session) -> None:
    answer = await _call(session, url, _window(), timestamp=NOW - 301)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureExpire"


async def test_timestamp_within_five_minutes_is_accepted(url, session) -> None:
    answer = await _call(session, url, _window(), timestamp=NOW + 300)
    assert "Error" not in answer


async def test_credential_date_must_be_the_utc_date(url, session) -> None:
    headers, body = _request(url, _window())
    beijing = headers["Authorization"].replace("2023-11-14", "2023-11-15")
    answer = await tencent_post(session, url, {**headers, "Authorization": beijing}, body)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"


async def test_unknown_secret_id_is_refused(url, session) -> None:
    answer = await _call(session, url, _window(), secret_id="AKIDNOBODY")
    assert answer["Error"]["Code"] == "AuthFailure.SecretIdNotFound"


async def test_malformed_authorization_is_refused(url, session) -> None:
    answer = await _call(session, url, _window(), headers={"Authorization": "Bearer x"})
    assert answer["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("X-TC-Region", "ap-shanghai", "UnsupportedRegion"),
        ("X-TC-Version", "2017-03-12", "NoSuchVersion"),
        ("X-TC-Action", "DescribeNothing", "InvalidAction"),
    ],
)
async def test_region_version_and_action_are_checked(url, session, header, value, code) -> None:
    answer = await _call(session, url, _window(), headers={header: value})
    assert answer["Error"]["Code"] == code


async def test_window_longer_than_a_week_is_refused(url, session) -> None:
    params = {"StartTime": NOW - 10 * DAY, "EndTime": NOW - 10 * DAY + 604_801}
    answer = await _call(session, url, params)
    assert answer["Error"]["Code"] == "InvalidParameter"
    assert "one week" in answer["Error"]["Message"]


async def test_window_older_than_90_days_is_refused(url, session) -> None:
    params = {"StartTime": NOW - 90 * DAY - 1, "EndTime": NOW - 85 * DAY}
    answer = await _call(session, url, params)
    assert answer["Error"]["Code"] == "InvalidParameter"
    assert "90 days" in answer["Error"]["Message"]


async def test_end_before_start_is_refused(url, session) -> None:
    answer = await _call(session, url, {"StartTime": WINDOW[1], "EndTime": WINDOW[0]})
    assert answer["Error"]["Code"] == "InvalidParameter"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"EndTime": WINDOW[1]}, "MissingParameter"),
        ({"StartTime": str(WINDOW[0]), "EndTime": WINDOW[1]}, "InvalidParameterValue"),
        (_window(PageSize=20), "UnknownParameter"),
    ],
)
async def test_body_parameters_are_checked(url, session, params, code) -> None:
    answer = await _call(session, url, params)
    assert answer["Error"]["Code"] == code


async def test_only_tasks_wholly_inside_the_window_are_returned(sandbox, url, session) -> None:
    start, end = WINDOW
    sandbox.add_record_tasks(
        [
            _task("on-both-bounds", start, end),
            _task("straddles-start", start - 100, start + 500),
            _task("straddles-end", end - 500, end + 100),
        ]
    )
    answer = await _call(session, url, _window())
    assert sorted(t["TaskId"] for t in answer["TaskList"]) == ["inside", "on-both-bounds"]


async def test_filters_match_exactly(sandbox, url, session) -> None:
    sandbox.add_record_tasks([_task("other", WINDOW[0] + 10, WINDOW[0] + 20, StreamName="x")])
    answer = await _call(session, url, _window(StreamName="x"))
    assert [t["TaskId"] for t in answer["TaskList"]] == ["other"]


async def test_deleted_task_vanishes_and_stopped_is_a_timestamp(sandbox, url, session) -> None:
    sandbox.add_record_tasks([_task("doomed", WINDOW[0] + 10, WINDOW[0] + 20)])
    sandbox.delete_record_task("doomed")
    sandbox.stop_record_task("inside", at=WINDOW[0] + 200)
    answer = await _call(session, url, _window())
    assert [(t["TaskId"], t["Stopped"]) for t in answer["TaskList"]] == [
        ("inside", WINDOW[0] + 200)
    ]


async def test_scroll_token_pages_through_everything_once(sandbox, url, session) -> None:
    sandbox.add_record_tasks(_many(24))
    seen, token, tokens = [], None, []
    while token != "":
        answer = await _call(session, url, _window(**({"ScrollToken": token} if token else {})))
        seen += [task["TaskId"] for task in answer["TaskList"]]
        token = answer["ScrollToken"]
        tokens.append(token)
    assert sorted(seen) == sorted(sandbox.record_tasks)
    assert len(seen) == len(set(seen)) == 25
    assert len(tokens) == 3 and tokens[-1] == ""


async def test_tasks_are_ordered_by_start_then_task_id(sandbox, url, session) -> None:
    sandbox.add_record_tasks(
        [_task("b", WINDOW[0] + 5, WINDOW[0] + 9), _task("a", WINDOW[0] + 5, WINDOW[0] + 9)]
    )
    answer = await _call(session, url, _window())
    assert [t["TaskId"] for t in answer["TaskList"]] == ["a", "b", "inside"]


async def test_scroll_token_of_another_window_is_refused(sandbox, url, session) -> None:
    sandbox.add_record_tasks(_many(24))
    token = (await _call(session, url, _window()))["ScrollToken"]
    other = {"StartTime": WINDOW[0] - 1, "EndTime": WINDOW[1], "ScrollToken": token}
    answer = await _call(session, url, other)
    assert answer["Error"]["Code"] == "InvalidParameter"


async def test_an_expired_scroll_token_is_refused(sandbox, url, session) -> None:
    sandbox.add_record_tasks(_many(24))
    token = (await _call(session, url, _window()))["ScrollToken"]
    sandbox.expire_scroll_tokens()
    answer = await _call(session, url, _window(ScrollToken=token))
    assert answer["Error"]["Code"] == "InvalidParameter"
    assert "expired" in answer["Error"]["Message"]


async def test_garbage_scroll_token_is_refused(url, session) -> None:
    answer = await _call(session, url, _window(ScrollToken="RF1bV9tRVVEW="))
    assert answer["Error"]["Code"] == "InvalidParameter"


async def test_burst_over_20_per_second_is_rate_limited(session) -> None:
    twin = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=lambda: NOW, monotonic=lambda: 0.0
    )
    async with twin.serve() as server:
        answers = await asyncio.gather(*(_call(session, server.url, _window()) for _ in range(25)))
    codes = [answer.get("Error", {}).get("Code", "ok") for answer in answers]
    assert codes.count("ok") == 20
    assert codes.count("RequestLimitExceeded") == 5
    assert twin.requests.outcomes("DescribeRecordTask")["RequestLimitExceeded"] == 5


async def test_scripted_faults_come_in_order(sandbox, url, session) -> None:
    script = [FaultKind.HTTP_5XX, FaultKind.RESET, FaultKind.INTERNAL_ERROR]
    sandbox.faults = FaultPlan.script(script)
    headers, body = _request(url, _window())
    async with session.post(url + "/", data=body, headers=headers) as response:
        assert response.status == 502
        assert not (await response.text()).startswith("{")
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.post(url + "/", data=body, headers=headers) as response:
            await response.read()
    answer = await tencent_post(session, url, headers, body)
    assert answer["Error"]["Code"] == "InternalError"
    assert "Error" not in await tencent_post(session, url, headers, body)
    assert [r.outcome for r in sandbox.requests] == ["http_5xx", "reset", "internal_error", "ok"]


@pytest.mark.parametrize("kind", [FaultKind.TRUNCATED, FaultKind.INVALID_JSON])
async def test_broken_bodies_are_not_json(sandbox, url, session, kind) -> None:
    sandbox.faults = FaultPlan.script([kind])
    headers, body = _request(url, _window())
    async with session.post(url + "/", data=body, headers=headers) as response:
        with pytest.raises(ValueError):
            json.loads(await response.read())


async def test_slow_answer_outlasts_the_client_timeout(sandbox, url, session) -> None:
    sandbox.faults = FaultPlan.script([FaultKind.SLOW], slow_seconds=0.5)
    headers, body = _request(url, _window())
    with pytest.raises(asyncio.TimeoutError):
        timeout = aiohttp.ClientTimeout(total=0.1)
        async with session.post(url + "/", data=body, headers=headers, timeout=timeout):
            pass


def test_random_fault_plan_is_deterministic_per_seed() -> None:
    def draws(seed: int) -> list[FaultKind | None]:
        plan = FaultPlan.random(rate=0.3, seed=seed)
        return [plan.draw("DescribeRecordTask") for _ in range(200)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert 30 < sum(kind is not None for kind in draws(7)) < 90


def test_fault_plan_restricted_to_an_action_leaves_others_alone() -> None:
    plan = FaultPlan.script([FaultKind.HTTP_5XX], action="DescribeRecordTask")
    assert plan.draw("DescribeLivePullStreamTasks") is None
    assert plan.draw("DescribeRecordTask") is FaultKind.HTTP_5XX


async def test_secret_key_never_leaves_the_twin(sandbox, url, session) -> None:
    for options in ({}, {"timestamp": NOW - 999}, {"secret_id": "AKIDNOBODY"}):
        headers, _ = _request(url, _window(), **options)
        async with session.post(url + "/", data=b"{}", headers=headers) as response:
            assert SECRET_KEY not in await response.text()
    assert SECRET_KEY not in repr(sandbox.requests)


def test_generator_is_deterministic_per_seed() -> None:
    assert generate_record_tasks(NOW, seed=3) == generate_record_tasks(NOW, seed=3)
    assert generate_record_tasks(NOW, seed=3) != generate_record_tasks(NOW, seed=4)


def test_generated_tasks_respect_tencent_limits() -> None:
    tasks = generate_record_tasks(NOW)
    assert len(tasks) == 97 * 40
    assert len({task["TaskId"] for task in tasks}) == len(tasks)
    assert all(300 <= task["EndTime"] - task["StartTime"] <= DAY for task in tasks)
    assert all(task["EndTime"] < NOW + 7 * DAY for task in tasks)
    assert all(NOW - 90 * DAY <= task["StartTime"] < NOW + 7 * DAY for task in tasks)
    assert any(task["EndTime"] - task["StartTime"] == DAY for task in tasks)


def test_generated_stops_happen_while_tasks_run() -> None:
    tasks = generate_record_tasks(NOW)
    stopped = [task for task in tasks if task["Stopped"]]
    assert 0.05 < len(stopped) / len(tasks) < 0.15
    assert all(t["StartTime"] <= t["Stopped"] <= min(t["EndTime"], NOW) for t in stopped)


def test_generated_tasks_include_ones_crossing_utc_midnight() -> None:
    tasks = generate_record_tasks(NOW)
    crossing = [t for t in tasks if t["StartTime"] // DAY != t["EndTime"] // DAY]
    late_starts = [t for t in crossing if t["StartTime"] % DAY >= 21 * 3600]
    assert len(late_starts) > 0.05 * len(tasks)
