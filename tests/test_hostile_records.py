"""A record never blocks its source: whatever a vendor sends inside a readable page, the good
records of that page load, the bad one is stored made storable or rejected naming its field, the
window commits, and the next run is not blocked.

The twins serve the hostile records (`pipeline.sandbox.hostile`) inside their first answer to
the listing, over real HTTP; ZEGO's `DescribeTasks` unless a test names another vendor.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import Settings
from pipeline.planning.sources import SyncRequest
from pipeline.records import HEAD_BYTES, MAX_RAW_BYTES, MAX_TASK_ID_CHARS
from pipeline.runner import RunReport
from pipeline.sandbox.hostile import Hostile, RawJson, hostile_records, insert_records
from pipeline.sandbox.twin import Twin
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.sandbox_tasks import FIELDS, project
from pipeline.vendors.zego.sandbox import ZegoSandbox
from tests import test_volcengine_sync as volcengine
from tests.conftest import (
    FAST_RATE,
    SECRET_ID,
    SECRET_KEY,
    Clock,
    fast_settings,
    tencent_account,
)
from tests.runs import reachable as tencent_reachable
from tests.runs import run, stored_ids
from tests.test_zego_sync import reachable, settings_for, zego

API = "DescribeTasks"
GIANT_DIGITS = "9" * 5000


def a_good_item(sandbox: ZegoSandbox) -> dict[str, Any]:
    """One ZEGO task as DescribeTasks answers it, for hostile records to start from."""
    task = next(iter(sandbox.tasks.values()))
    return {k: task[k] for k in ("TaskId", "RoomId", "RecordBeginTimestamp", "Status")}


@dataclass
class Outcome:
    """Two runs against a twin serving hostile records in each run's first answer."""

    first: RunReport
    second: RunReport
    good: list[str]


async def sync_twice(pool: asyncpg.Pool, clock: Clock, **fields: Any) -> Outcome:
    """Run twice against a ZEGO twin whose first answer of each run also holds a good item
    with `fields` in place of its own."""
    sandbox = zego(clock)
    record = {**a_good_item(sandbox), **fields}
    reports = []
    async with sandbox.serve() as server:
        for _ in range(2):
            insert_records(sandbox, API, [record])
            reports.append(await run(pool, settings_for(server.url), SyncRequest(), clock.now))
    return Outcome(*reports, good=reachable(sandbox, clock.now))


async def assert_good_landed_and_committed(pool: asyncpg.Pool, outcome: Outcome) -> None:
    stored = set(await stored_ids(pool))
    assert set(outcome.good) <= stored
    covered = "SELECT count(*) FROM coverage WHERE run_id = $1"
    assert await pool.fetchval(covered, outcome.first.run_id) >= 1
    assert (outcome.first.outcome, outcome.second.outcome) == ("succeeded", "succeeded")


async def rejected(pool: asyncpg.Pool, report: RunReport) -> list[asyncpg.Record]:
    """What `report`'s run kept aside."""
    return await pool.fetch(
        "SELECT task_id, reason, raw::text AS raw FROM rejected_records WHERE run_id = $1",
        report.run_id,
    )


# --- the three records that used to fail their source on every run ---------------------------


@pytest.mark.parametrize("form", ["escaped", "utf-8"])
async def test_a_lone_surrogate_is_stored_as_its_escape(
    pool: asyncpg.Pool, clock: Clock, form: str
) -> None:
    surrogate = "\\ud800" if form == "escaped" else "\ud800"
    room = RawJson(f'"room-{surrogate}"')
    outcome = await sync_twice(pool, clock, TaskId="lone", RoomId=room)
    await assert_good_landed_and_committed(pool, outcome)
    stored = await pool.fetchval("SELECT room_id FROM tasks WHERE task_id = 'lone'")
    assert stored == "room-\\ud800"


async def test_a_task_id_of_20000_characters_is_rejected_naming_task_id(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    giant = "g" * 20_000
    outcome = await sync_twice(pool, clock, TaskId=giant)
    await assert_good_landed_and_committed(pool, outcome)
    (row,) = await rejected(pool, outcome.first)
    assert row["reason"] == f"task_id: 20000 characters, more than {MAX_TASK_ID_CHARS}"
    assert row["task_id"] == giant[:MAX_TASK_ID_CHARS]
    assert json.loads(row["raw"])["TaskId"] == giant  # the payload itself is whole


async def test_a_5000_digit_integer_in_an_unknown_field_is_kept_as_text(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    outcome = await sync_twice(pool, clock, TaskId="giant-int", Size=RawJson(GIANT_DIGITS))
    await assert_good_landed_and_committed(pool, outcome)
    size = await pool.fetchval("SELECT raw->'Size' FROM tasks WHERE task_id = 'giant-int'")
    assert json.loads(size) == GIANT_DIGITS


async def test_a_5000_digit_integer_in_a_known_field_is_rejected_naming_it(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    outcome = await sync_twice(pool, clock, TaskId="giant-status", Status=RawJson(GIANT_DIGITS))
    await assert_good_landed_and_committed(pool, outcome)
    (row,) = await rejected(pool, outcome.first)
    assert row["task_id"] == "giant-status" and row["reason"].startswith("Status: ")


async def test_a_record_over_the_size_bound_is_rejected_and_kept_as_a_marker(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    note = "n" * (MAX_RAW_BYTES + 1)
    outcome = await sync_twice(pool, clock, TaskId="big", Note=note)
    await assert_good_landed_and_committed(pool, outcome)
    (row,) = await rejected(pool, outcome.first)
    assert row["task_id"] == "big" and row["reason"].startswith("raw: ")
    marker = json.loads(row["raw"])
    assert marker["truncated"] is True and marker["bytes"] > MAX_RAW_BYTES
    assert len(marker["head"]) == HEAD_BYTES and marker["head"].startswith('{"TaskId": "big"')


# --- every vendor's twin, every hostile kind ---------------------------------------------------


@dataclass
class Vendor:
    """A twin with good records, its settings, its list action and one good item of its list."""

    twin: Twin
    settings: Callable[[str], Settings]
    action: str
    item: dict[str, Any]
    good: list[str]


def zego_vendor(now: int) -> Vendor:
    sandbox = zego(Clock(now))
    return Vendor(sandbox, settings_for, API, a_good_item(sandbox), reachable(sandbox, now))


def tencent_vendor(now: int) -> Vendor:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: now,
        rate_limits={"DescribeRecordTask": FAST_RATE},
    )
    sandbox.add_record_tasks(generate_record_tasks(now, per_day=3, seed=11))
    item = dict(next(iter(sandbox.record_tasks.values())))
    return Vendor(
        sandbox, tencent_settings, "DescribeRecordTask", item, tencent_reachable(sandbox, now)
    )


def tencent_settings(url: str) -> Settings:
    return fast_settings(tencent_account(url))


def volcengine_vendor(now: int) -> Vendor:
    sandbox = volcengine.make_sandbox(now, 30)
    item = project(next(iter(sandbox.tasks.values())), FIELDS)
    return Vendor(sandbox, volcengine.settings_for, volcengine.API, item, sorted(sandbox.tasks))


@pytest.mark.parametrize("make", [zego_vendor, tencent_vendor, volcengine_vendor])
async def test_each_twin_serves_every_hostile_kind_and_the_source_goes_on(
    pool: asyncpg.Pool, frozen_now: int, make: Callable[[int], Vendor]
) -> None:
    vendor = make(frozen_now)
    records = hostile_records(vendor.item, list(Hostile) * 2, seed=13)
    reports = []
    async with vendor.twin.serve() as server:
        for _ in range(2):
            insert_records(vendor.twin, vendor.action, records, seed=5)
            reports.append(await run(pool, vendor.settings(server.url), SyncRequest(), frozen_now))
    assert [r.outcome for r in reports] == ["succeeded", "succeeded"]
    stored = set(await stored_ids(pool))
    assert set(vendor.good) <= stored
    first_rejected = await pool.fetchval(
        "SELECT count(*) FROM rejected_records WHERE run_id = $1", reports[0].run_id
    )
    assert first_rejected + len(stored - set(vendor.good)) == len(records)


# --- any page of any records ------------------------------------------------------------------

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.integers(19, 5000).map(lambda n: RawJson("1" * n))  # beyond 64 bits, beyond 4,300
    | st.sampled_from(["NaN", "-Infinity", "1e400", '"\\u0000"']).map(RawJson)
    | st.builds(
        lambda head, code, escaped: RawJson(
            json.dumps(head)[:-1] + (f"\\u{code:04x}" if escaped else chr(code)) + '"'
        ),
        st.text(max_size=4),
        st.integers(0xD800, 0xDFFF),
        st.booleans(),
    )
)
VALUES = st.recursive(
    LEAVES,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=6,
)
# How a hostile record names itself: not at all, with a non-string, or with an id of its own,
# ordinary, over the bound, or holding a lone surrogate.
IDS = st.one_of(
    st.just(("absent", None)),
    st.tuples(st.just("value"), VALUES.filter(lambda v: not isinstance(v, str))),
    st.tuples(st.sampled_from(["plain", "giant", "surrogate"]), st.text(max_size=8)),
)


def hostile_id(n: int, kind: str, value: Any) -> Any:
    """The TaskId of the `n`-th hostile record of a page (no two records share a string id)."""
    if kind == "value" and isinstance(value, RawJson) and value.text.startswith('"'):
        return RawJson(f'"h{n}-{value.text[1:]}')
    if kind == "value":
        return value
    if kind == "giant":
        return f"h{n}-" + "x" * (MAX_TASK_ID_CHARS + 1)
    if kind == "surrogate":
        return RawJson(json.dumps(f"h{n}-{value}")[:-1] + '\\udc00"')
    return f"h{n}-{value}"


@st.composite
def hostile_record(draw: st.DrawFn, n: int) -> Any:
    """The `n`-th hostile item of a page: an array `[n, ...]`, or an object with `Seq` n, ZEGO's
    fields and others, any of them any JSON."""
    if draw(st.integers(0, 5)) == 0:
        return [n, *draw(st.lists(VALUES, max_size=2))]
    fields = st.fixed_dictionaries(
        {},
        optional={
            "RoomId": VALUES,
            "RecordBeginTimestamp": VALUES | st.integers(0, 2**45),
            "Status": VALUES | st.integers(1, 5),
        },
    )
    extra = draw(st.dictionaries(st.text(max_size=8), VALUES, max_size=3))
    extra.pop("TaskId", None)
    record = {**extra, **draw(fields), "Seq": n}
    kind, value = draw(IDS)
    if kind != "absent":
        record["TaskId"] = hostile_id(n, kind, value)
    return record


@st.composite
def hostile_pages(draw: st.DrawFn) -> list[Any]:
    """Up to six hostile items, to go among a page's good records."""
    return [draw(hostile_record(n)) for n in range(draw(st.integers(0, 6)))]


@pytest.fixture
async def twin_url(clock: Clock) -> AsyncIterator[tuple[ZegoSandbox, str]]:
    sandbox = zego(clock, count=60)
    async with sandbox.serve() as server:
        yield sandbox, server.url


async def empty(pool: asyncpg.Pool) -> None:
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'pipeline'"
        " AND tablename <> 'schema_migrations'"
    )
    await pool.execute(f"TRUNCATE {', '.join(t['tablename'] for t in tables)}")


# Which hostile items of a page were kept, as a task or as a rejection.
KEPT = """
SELECT seq FROM (
    SELECT (raw->>'Seq')::int AS seq FROM tasks
    UNION
    SELECT CASE jsonb_typeof(raw) WHEN 'object' THEN (raw->>'Seq')::int
                                  WHEN 'array' THEN (raw->>0)::int END
    FROM rejected_records
) kept WHERE seq IS NOT NULL ORDER BY seq
"""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(page=hostile_pages())
async def test_any_page_loads_its_good_records_keeps_every_bad_one_and_commits(
    pool: asyncpg.Pool,
    clock: Clock,
    twin_url: tuple[ZegoSandbox, str],
    page: Sequence[Any],
) -> None:
    sandbox, url = twin_url
    await empty(pool)
    reports = []
    for _ in range(2):
        insert_records(sandbox, API, page, seed=len(page))
        reports.append(await run(pool, settings_for(url), SyncRequest(), clock.now))
    assert [r.outcome for r in reports] == ["succeeded", "succeeded"]
    good = reachable(sandbox, clock.now)
    assert set(good) <= set(await stored_ids(pool))
    kept = [r["seq"] for r in await pool.fetch(KEPT)]
    assert kept == list(range(len(page)))
    covered = "SELECT count(*) FROM coverage WHERE run_id = $1"
    assert await pool.fetchval(covered, reports[0].run_id) >= 1
