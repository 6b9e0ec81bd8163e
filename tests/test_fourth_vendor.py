"""A fourth vendor from outside `pipeline/` (tests/toyvendor), registered with one line, runs
through the same paths as the real ones: the registry, a sync, the chaos test's fixture and the
benchmarks."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from benchmarks.extraction import ExtractionConfig
from benchmarks.suite import Options, run_suite
from pipeline.planning.sources import SyncRequest
from pipeline.vendors import VENDORS
from tests.conftest import fast_settings
from tests.runs import backfill_all, run
from tests.test_benchmarks_smoke import assert_extraction_is_sane
from tests.test_chaos import (  # noqa: F401 - the chaos fixture and test, run with the toy too
    test_every_task_lands_once_and_history_matches_the_changes,
    vendors,
)
from tests.toyvendor import registered


@pytest.fixture(autouse=True)
def toy() -> Iterator[None]:
    with registered():  # the one line that adds the vendor
        yield


def test_the_registry_holds_the_toy_vendor_for_the_test_only() -> None:
    assert "toy" in VENDORS
    assert VENDORS["toy"].sandbox is not None


async def test_a_backfill_and_a_sync_keep_the_toy_list(pool: asyncpg.Pool, frozen_now: int) -> None:
    now = frozen_now
    kit = VENDORS["toy"].sandbox
    assert kit is not None
    twin = kit.twin(credentials=kit.credentials, clock=lambda: now)
    kit.fill(twin, now, 10, 5, 3)
    async with twin.serve() as server:
        settings = fast_settings(kit.account(server.url, "toy-main"))
        report = await run(pool, settings, backfill_all(now), now)
        assert report.outcome == "succeeded"
        changes = kit.change(twin, now)
        report = await run(pool, settings, SyncRequest(), now)
        assert report.outcome == "succeeded"
    rows = await pool.fetch("SELECT task_id FROM tasks WHERE vendor = 'toy' ORDER BY task_id")
    deleted = [c.task_id for c in changes if c.deleted]  # kept, marked deleted
    assert [r["task_id"] for r in rows] == sorted([*kit.stored(twin, now)["ListToys"], *deleted])
    history = await pool.fetch("SELECT task_id, old_status, new_status FROM task_history")
    assert sorted(tuple(h) for h in history) == sorted(
        (c.task_id, c.old_status, c.new_status) for c in changes
    )


async def test_the_benchmarks_measure_the_toy_list(pg_server: str) -> None:
    extraction = ExtractionConfig(apis=("ListToys",), sizes={"ListToys": {"tasks": 120}})
    result = await run_suite(Options(pg_server, (), extraction, memory=None))
    assert_extraction_is_sane(result["extraction"], extraction)
    assert result["extraction"]["configured"] == []  # no configured limit for the toy
    [run] = result["extraction"]["rate"]
    assert (run["records"], run["requests"]) == (120, 120 // 25 + 1)
