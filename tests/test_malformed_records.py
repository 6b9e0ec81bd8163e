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
from pipeline.plans import SyncRequest
from pipeline.status import collect
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.volcengine.sandbox_tasks import list_pull_record_task
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
