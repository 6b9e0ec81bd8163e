"""Worker processes with `--shard I/N` and one config split a round between them: each source is
synced once, by one of them, and the union is what one process syncs alone. `status` shows
every source whoever synced it, and a shard that never ran as overdue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from pipeline.config import load_database_config
from pipeline.db.connect import create_pool
from pipeline.shards import Shard
from pipeline.status import show_status
from pipeline.vendors import VENDORS
from tests.database import cloned_database
from tests.fleets import serve_accounts
from tests.processes import start, write_config

ACCOUNTS_PER_VENDOR = 3
PER_DAY = 4


@pytest.fixture
async def config(tmp_path: Path, frozen_now: int) -> AsyncIterator[Path]:
    """Three accounts of every registered vendor, on that vendor's twin, filled and served."""
    async with AsyncExitStack() as stack:
        accounts = await serve_accounts(stack, frozen_now, ACCOUNTS_PER_VENDOR, PER_DAY)
        yield write_config(tmp_path / "config.yaml", accounts)


@pytest.fixture
def other_db(pg_server: str, pg_template: str) -> Iterator[str]:
    with cloned_database(pg_server, pg_template) as url:
        yield url


async def run_workers(config: Path, db_url: str, *shards: str) -> None:
    """`pipeline sync` in one worker process per shard ("" for none), started together; each
    must succeed."""
    env = {"PIPELINE_DATABASE_URL": db_url}
    argv = ["sync", "--config", str(config), "--quiet"]
    workers = [await start(argv + (["--shard", shard] if shard else []), env) for shard in shards]
    results = await asyncio.gather(*(worker.communicate() for worker in workers))
    for worker, (_, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err.decode()


async def fetch(db_url: str, sql: str) -> list[tuple[object, ...]]:
    pool = await create_pool(db_url, 1)
    try:
        return [tuple(r) for r in await pool.fetch(sql)]
    finally:
        await pool.close()


TASK_KEYS = "SELECT vendor, account, api, task_id FROM tasks ORDER BY 1, 2, 3, 4"
SOURCE_RUNS = (
    "SELECT s.vendor, s.account, s.api, r.shard_index FROM sync_run_sources s"
    " JOIN sync_runs r USING (run_id) WHERE s.outcome = 'succeeded' ORDER BY 1, 2, 3"
)


def sources_of(config: Path) -> set[tuple[str, str, str]]:
    loaded = load_database_config(config)
    return {(a.vendor, a.name, api) for a in loaded.accounts for api in VENDORS[a.vendor].sources}


async def status_json(
    db_url: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[tuple[str, str, str], dict[str, object]]]:
    pool = await create_pool(db_url, 2)
    try:
        code = await show_status(
            pool, load_database_config(config), as_json=True, now=datetime.now(UTC)
        )
    finally:
        await pool.close()
    shown = json.loads(capsys.readouterr().out)
    return code, {(s["vendor"], s["account"], s["api"]): s for s in shown["sources"]}


async def test_two_shards_sync_every_source_once_and_match_one_process(
    config: Path, db_url: str, other_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = sources_of(config)
    halves = [{s for s in sources if Shard(i, 2).owns(*s)} for i in (0, 1)]
    assert all(halves), "both shards must hold sources for this test to mean anything"

    await run_workers(config, db_url, "0/2", "1/2")
    await run_workers(config, other_db, "")

    synced = await fetch(db_url, SOURCE_RUNS)
    assert sorted(s[:3] for s in synced) == sorted(sources)  # each exactly once
    for index, half in enumerate(halves):
        assert {s[:3] for s in synced if s[3] == index} == half
    assert await fetch(db_url, TASK_KEYS) == await fetch(other_db, TASK_KEYS)
    assert len(await fetch(db_url, TASK_KEYS)) > 0

    code, shown = await status_json(db_url, config, capsys)
    assert code == 0
    assert {source: s["synced_by"] for source, s in shown.items()} == {
        source: f"shard {index}/2" for index, half in enumerate(halves) for source in half
    }


async def test_a_missing_shard_shows_as_overdue_and_status_exits_1(
    config: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run_workers(config, db_url, "0/2")  # the worker of shard 1/2 never runs

    code, shown = await status_json(db_url, config, capsys)
    assert code == 1
    overdue = {source for source, s in shown.items() if s["overdue"]}
    assert overdue == {s for s in sources_of(config) if Shard(1, 2).owns(*s)}
    assert all("never synced" in str(shown[s]["overdue"]) for s in overdue)


async def test_a_worker_with_no_source_in_its_shard_succeeds_doing_nothing(
    config: Path, db_url: str, pool: asyncpg.Pool
) -> None:
    # 64 shards for a dozen sources: most are empty (a config shrank, N did not).
    sources = sources_of(config)
    empty = next(i for i in range(64) if not any(Shard(i, 64).owns(*s) for s in sources))
    await run_workers(config, db_url, f"{empty}/64")
    run = await pool.fetchrow("SELECT outcome, shard_index, shard_count FROM sync_runs")
    assert tuple(run) == ("succeeded", empty, 64)
    assert await pool.fetchval("SELECT count(*) FROM sync_run_sources") == 0
