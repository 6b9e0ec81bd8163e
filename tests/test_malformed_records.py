"""Malformed vendor records end to end: each is kept aside with its reason, the rest still load."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pipeline.cli import run_cli
from pipeline.config import Settings
from pipeline.planning.sources import SyncRequest
from pipeline.status import collect
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.volcengine.sandbox_tasks import list_pull_record_task
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, fast_settings, tencent_account
from tests.runs import run, stored_ids
from tests.test_volcengine_sync import AK, API, SK, make_sandbox, settings_for

GOOD = 30
HIDDEN = ("CreateTime", "UpdateTime")  # the twin's own bookkeeping, never answered
START, END = "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"
# Each malformed record, the field its reason must name, and its TaskId (None: it has none).
MALFORMED: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "missing TaskId": (
        {"StartTime": START, "EndTime": END, "Status": "已结束", "Vhost": "v", "Domain": "d"},
        "TaskId",
        None,
    ),
    "StartTime yesterday": (
        {"TaskId": "bad-start", "StartTime": "yesterday", "EndTime": END, "Status": "已结束"},
        "StartTime",
        "bad-start",
    ),
    "Status as an int": (
        {"TaskId": "bad-status", "StartTime": START, "EndTime": END, "Status": 3},
        "Status",
        "bad-status",
    ),
}
EXTRA = {
    "TaskId": "extra-field",
    "StartTime": START,
    "EndTime": END,
    "Status": "已结束",
    "Vhost": "v",
    "Domain": "d",
    "App": "a",
    "Stream": "s",
    "RecordFormat": {"Type": "flv", "Nested": [1, 2]},
}


def serve_verbatim(sandbox: VolcengineSandbox) -> None:
    """Let ListPullRecordTask answer stored records as stored, odd and unknown keys included.

    The twin projects the eight documented fields and orders by TaskId, so a record without one
    could not be listed; here the list is in key order and the twin's paging rules still apply.
    """

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        stored = [sandbox.tasks[key] for key in sorted(sandbox.tasks)]
        result = list_pull_record_task(params, stored, max_page_size=sandbox.max_page_size)
        offset = (params["PageNum"] - 1) * params["PageSize"]
        shown = stored[offset : offset + len(result["List"])]
        result["List"] = [{k: v for k, v in r.items() if k not in HIDDEN} for r in shown]
        return result

    sandbox.actions[API] = handler


def with_records(now: int, *records: dict[str, Any], good: int = GOOD) -> VolcengineSandbox:
    sandbox = make_sandbox(now, good)
    for number, record in enumerate(records):
        sandbox.tasks[record.get("TaskId", f"~no-id-{number}")] = dict(record)
    serve_verbatim(sandbox)
    return sandbox


@pytest.fixture
def volc(frozen_now: int) -> VolcengineSandbox:
    return with_records(frozen_now, *(record for record, _, _ in MALFORMED.values()), EXTRA)


@pytest.fixture
async def settings(volc: VolcengineSandbox) -> AsyncIterator[Settings]:
    async with volc.serve() as server:
        yield settings_for(server.url)


def good_ids(sandbox: VolcengineSandbox) -> list[str]:
    wellformed = [r for r in sandbox.tasks.values() if isinstance(r.get("CreateTime"), int)]
    return sorted([r["TaskId"] for r in wellformed] + [EXTRA["TaskId"]])


async def rejected_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT vendor, account, api, task_id, reason, raw::text AS raw, run_id"
        " FROM rejected_records ORDER BY id"
    )


async def test_every_good_task_loads_and_the_run_succeeds(
    pool: asyncpg.Pool, volc: VolcengineSandbox, settings: Settings, frozen_now: int
) -> None:
    report = await run(pool, settings, SyncRequest(), frozen_now)
    assert report.outcome == "succeeded" and report.exit_code == 0
    assert await stored_ids(pool) == good_ids(volc)
    assert len(good_ids(volc)) == GOOD + 1


async def test_each_malformed_record_is_kept_with_payload_reason_and_source(
    pool: asyncpg.Pool, settings: Settings, frozen_now: int
) -> None:
    report = await run(pool, settings, SyncRequest(), frozen_now)
    rows = await rejected_rows(pool)
    assert len(rows) == len(MALFORMED)
    by_payload = {json.dumps(json.loads(r["raw"]), sort_keys=True): r for r in rows}
    for record, field, task_id in MALFORMED.values():
        row = by_payload[json.dumps(record, sort_keys=True)]
        assert (row["vendor"], row["account"], row["api"]) == ("volcengine", "volc-main", API)
        assert row["task_id"] == task_id
        assert row["reason"].startswith(f"{field}: ")
        assert row["run_id"] == report.run_id


async def test_the_run_counts_the_rejections(
    pool: asyncpg.Pool, settings: Settings, frozen_now: int
) -> None:
    report = await run(pool, settings, SyncRequest(), frozen_now)
    (source,) = report.sources
    assert source.counts.rejected == len(MALFORMED)
    assert source.counts.inserted == GOOD + 1
    stored = await pool.fetchval(
        "SELECT tasks_rejected FROM sync_run_sources WHERE run_id = $1 AND api = $2",
        report.run_id,
        API,
    )
    assert stored == len(MALFORMED)


async def test_an_unknown_extra_field_is_kept_in_raw_not_rejected(
    pool: asyncpg.Pool, settings: Settings, frozen_now: int
) -> None:
    await run(pool, settings, SyncRequest(), frozen_now)
    row = await pool.fetchrow(
        "SELECT status, raw::text AS raw FROM tasks WHERE task_id = $1", EXTRA["TaskId"]
    )
    assert row is not None and row["status"] == "finished"
    assert json.loads(row["raw"]) == EXTRA
    rejected = {r["task_id"] for r in await rejected_rows(pool)}
    assert EXTRA["TaskId"] not in rejected


async def test_status_shows_the_rejected_count_of_the_source(
    pool: asyncpg.Pool, settings: Settings, frozen_now: int
) -> None:
    report = await run(pool, settings, SyncRequest(), frozen_now)
    (source,) = await collect(pool, settings, report.sources[0].ended_at)
    assert (source.vendor, source.account, source.api) == ("volcengine", "volc-main", API)
    assert source.rejected == len(MALFORMED)
    assert source.last_success is not None and source.complete == ["the whole account"]


@pytest.fixture
def config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Callable[[str], Path]:
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    monkeypatch.setenv("VOLC_AK", AK)
    monkeypatch.setenv("VOLC_SK", SK)

    def write(url: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(
            "accounts:\n"
            "  - {name: volc-main, vendor: volcengine, access_key_id: '${VOLC_AK}',\n"
            f"     secret_access_key: '${{VOLC_SK}}', endpoint: '{url}',\n"
            f"     rate_limits: {{{API}: 2000, GetPullRecordTask: 2000}}}}\n"
            "retry: {attempts: 3, initial_wait: 0.001, max_wait: 0.01, total_timeout: 10}\n"
        )
        return path

    return write


async def test_the_cli_exits_0_and_status_json_shows_the_rejections(
    volc: VolcengineSandbox,
    config_file: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with volc.serve() as server:
        path = config_file(server.url)
        assert await run_cli(["sync", "--config", str(path), "--quiet"]) == 0
    capsys.readouterr()
    assert await run_cli(["status", "--config", str(path), "--json"]) == 0
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    assert (source["account"], source["api"], source["rejected"]) == (
        "volc-main",
        API,
        len(MALFORMED),
    )
    assert source["healthy"] is True


# --- known bugs: each fails today; remove its marker once fixed ------------------------------


def odd_record(**fields: Any) -> dict[str, Any]:
    return {**EXTRA, "TaskId": "odd", **fields}


async def sync(pool: asyncpg.Pool, sandbox: VolcengineSandbox, now: int) -> Any:
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), now)
    return report.sources[0]


async def test_a_task_id_that_is_a_list_is_a_rejection(pool: asyncpg.Pool, frozen_now: int) -> None:
    """`ListPage.ids` puts each TaskId in a set: a list TaskId raises TypeError and fails the
    whole source (error_code TypeError) instead of rejecting one record."""
    sandbox = with_records(frozen_now)
    sandbox.tasks["odd"] = odd_record(TaskId=["x"])
    source = await sync(pool, sandbox, frozen_now)
    assert (source.outcome, source.counts.rejected, source.counts.inserted) == (
        "succeeded",
        1,
        GOOD,
    )


@pytest.mark.parametrize("value", ["a\x00b", float("nan"), float("inf")], ids=["NUL", "NaN", "inf"])
async def test_a_value_jsonb_refuses_does_not_fail_the_source(
    pool: asyncpg.Pool, frozen_now: int, value: object
) -> None:
    """json.loads accepts `\\u0000`, NaN and Infinity; the loader's json.dumps writes them back
    and jsonb refuses them (UntranslatableCharacterError, InvalidTextRepresentationError), so the
    window's transaction and the whole source fail."""
    sandbox = with_records(frozen_now, odd_record(Note=value))
    source = await sync(pool, sandbox, frozen_now)
    assert source.outcome == "succeeded"
    assert len(await stored_ids(pool)) >= GOOD


async def test_records_without_task_id_do_not_make_the_list_look_shifted(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    """Two records without TaskId collapse into one `None` in the scan's id set, so a stable
    list never adds up: 4 scans, each rejection staged 4 times, no coverage recorded."""
    missing = {k: v for k, v in EXTRA.items() if k != "TaskId"}
    sandbox = with_records(frozen_now, missing, {**missing, "Stream": "other"})
    source = await sync(pool, sandbox, frozen_now)
    assert source.counts.rejected == 2
    assert await pool.fetchval("SELECT count(*) FROM rejected_records") == 2
    assert await pool.fetchval("SELECT count(*) FROM coverage") == 1


async def test_a_rejected_record_is_kept_once_when_the_list_is_rescanned(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    """Every scan stages its rejections again; tasks merge, rejections do not."""
    sandbox = with_records(frozen_now, odd_record(Status=3), good=1100)
    created = generate_pull_record_tasks(frozen_now, count=1, seed=77)
    sandbox.on_request(API, 2, lambda s: s.add_tasks(created))
    source = await sync(pool, sandbox, frozen_now)
    assert source.counts.rejected == 1
    assert await pool.fetchval("SELECT count(*) FROM rejected_records") == 1


async def test_a_rejected_relay_task_on_page_one_is_kept_once(
    pool: asyncpg.Pool, frozen_now: int
) -> None:
    """DescribeLivePullStreamTasks re-reads page 1 to check the front: its records are staged
    twice, so a rejection there is counted and stored twice in a run without any change."""
    api = "DescribeLivePullStreamTasks"
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=lambda: frozen_now, rate_limits={api: FAST_RATE}
    )
    relays = generate_pull_tasks(frozen_now, count=5, seed=5)
    relays[0]["StartTime"] = "yesterday"
    sandbox.add_pull_tasks(relays)
    async with sandbox.serve() as server:
        settings = fast_settings(tencent_account(server.url, apis=(api,)))
        report = await run(pool, settings, SyncRequest(), frozen_now)
    assert report.sources[0].counts.rejected == 1
    assert await pool.fetchval("SELECT count(*) FROM rejected_records") == 1
