"""Vendor credentials never stored: relay tasks carrying push signatures, URL tokens and
passwords are synced, rotated and synced again; and what an earlier release stored is scrubbed."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from pipeline.cli import run_cli
from pipeline.config import RedactionSettings, Settings
from pipeline.db.migrate import DATA_STEP, migrate
from pipeline.db.staging import content_hash
from pipeline.errors import ConfigError
from pipeline.model import Task
from pipeline.planning.sources import SyncRequest
from pipeline.redaction import PREFIX, AccountRedaction
from pipeline.vendors.tencent.fakedata_pull import OPERATORS, generate_pull_tasks
from pipeline.vendors.tencent.pull_tasks import PullStreamTasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.tencent.sandbox_pull_tasks import LIST_FIELDS
from tests.conftest import (
    FAST_RATE,
    REDACTION_KEY,
    SECRET_ID,
    SECRET_KEY,
    Clock,
    fast_settings,
    tencent_account,
)
from tests.runs import backfill_all, run

API = "DescribeLivePullStreamTasks"
# What each kind of credential looks like in the twin's relay tasks.
SECRET_VALUES = (
    re.compile(r"txSecret=([0-9a-f]+)"),
    re.compile(r"PushArgs\W+(txSecret=[^\"'\\]+)"),
    re.compile(r"://(relay:[0-9a-f]+)@"),
    re.compile(r"auth_key=([0-9a-f-]+)"),
    re.compile(r"token=([0-9a-f]+)"),
)
MALFORMED = {
    "TaskId": "malformed-1",
    "StartTime": "soon",
    "UpdateTime": "2020-01-01T00:00:00Z",
    "PushArgs": "txSecret=5ec2e7badc0ffee0&txTime=6a000000",
    "SourceUrls": ["rtmp://relay:0badc0de5ec2e7aa@src.example-live.com/live/feed9"],
    "CallbackUrl": "https://hooks.example.com/live/relay?token=77c0ffee77c0ffee",
}


def secrets_in(text: str) -> set[str]:
    """Every credential value in `text` (records as JSON, or rows as text)."""
    return {m.group(1) for pattern in SECRET_VALUES for m in pattern.finditer(text)}


def records(values: Iterable[Any]) -> str:
    return json.dumps(list(values))


async def stored_text(pool: asyncpg.Pool) -> str:
    """Every row of every table of the pipeline, as text."""
    tables = await pool.fetch(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    )
    assert len(tables) >= 8
    statements = [f"SELECT t::text AS row FROM {t['name']} t" for t in tables]  # noqa: S608
    rows = [await pool.fetch(statement) for statement in statements]
    return "\n".join(r["row"] for table in rows for r in table)


@pytest.fixture
def relay(clock: Clock) -> TencentSandbox:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=clock, rate_limits={API: FAST_RATE}
    )
    sandbox.add_pull_tasks(generate_pull_tasks(clock.now, count=40, seed=7))
    sandbox.add_pull_tasks([MALFORMED])
    return sandbox


@pytest.fixture
async def settings(relay: TencentSandbox) -> AsyncIterator[Settings]:
    async with relay.serve() as server:
        yield fast_settings(tencent_account(server.url, apis=(API,)))


def rotatable(relay: TencentSandbox) -> str:
    return min(t for t, task in relay.pull_tasks.items() if task["PushArgs"] and t[0].isdigit())


@pytest.fixture
async def rotated(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> tuple[str, set[str], list[dict[str, Any]]]:
    """A backfill, one task's push secret rotated, a sync: the task, every secret the vendor
    served, and the log events of both runs."""
    served = secrets_in(records(relay.pull_tasks.values()))
    task_id = rotatable(relay)
    with capture_logs() as logs:
        backfill = await run(pool, settings, backfill_all(clock.now), clock.now)
        served |= secrets_in(records([{"PushArgs": relay.rotate_push_secret(task_id)}]))
        sync = await run(pool, settings, SyncRequest(), clock.now)
    assert (backfill.outcome, sync.outcome) == ("succeeded", "succeeded")
    return task_id, served, logs


async def test_the_twin_serves_every_kind_of_credential(relay: TencentSandbox) -> None:
    text = records(relay.pull_tasks.values())
    for kind in ("txSecret=", "auth_key=", "token=", "://relay:"):
        assert text.count(kind) >= 3, kind


async def test_no_credential_reaches_any_table_or_log(
    pool: asyncpg.Pool, rotated: tuple[str, set[str], list[dict[str, Any]]]
) -> None:
    _, served, logs = rotated
    assert len(served) > 40
    stored, logged = await stored_text(pool), repr(logs)
    assert [s for s in served if s in stored] == []
    assert [s for s in served if s in logged] == []
    assert PREFIX in stored
    rejected = await pool.fetchval("SELECT count(*) FROM rejected_records")
    assert rejected >= 1  # the malformed task, rejected with its payload, redacted


async def test_no_operator_name_reaches_the_tasks(
    pool: asyncpg.Pool, rotated: tuple[str, set[str], list[dict[str, Any]]]
) -> None:
    raws = [r["raw"] for r in await pool.fetch("SELECT raw::text AS raw FROM tasks")]
    assert raws and not [name for name in OPERATORS for raw in raws if f'"{name}"' in raw]


async def test_a_rotation_is_one_history_row_of_two_digests(
    pool: asyncpg.Pool, rotated: tuple[str, set[str], list[dict[str, Any]]]
) -> None:
    task_id, _, _ = rotated
    (row,) = await pool.fetch("SELECT task_id, changes FROM task_history")
    old, new = json.loads(row["changes"])["raw.PushArgs"]
    assert row["task_id"] == task_id
    assert old != new and old.startswith(PREFIX) and new.startswith(PREFIX)


async def test_an_account_s_own_field_is_redacted(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    redact = AccountRedaction(fields=("Comment",))
    account = settings.accounts[0].model_copy(update={"redact": redact})
    settings = settings.model_copy(update={"accounts": (account,)})
    relay.update_pull_task(rotatable(relay), Comment="call ops on 555-0100")
    await run(pool, settings, SyncRequest(), clock.now)
    comments = await pool.fetch("SELECT raw->>'Comment' AS c FROM tasks WHERE raw->>'Comment' > ''")
    assert comments and all(r["c"].startswith(PREFIX) for r in comments)


async def test_without_a_key_a_sync_stops_before_any_request(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    keyless = settings.model_copy(update={"redaction": RedactionSettings()})
    with pytest.raises(ConfigError, match="PIPELINE_REDACTION_KEY"):
        await run(pool, keyless, SyncRequest(), clock.now)
    assert len(relay.requests) == 0
    assert await pool.fetchval("SELECT count(*) FROM sync_runs") == 0


async def test_the_cli_without_a_key_exits_2_naming_it(
    tmp_path: Path,
    db_url: str,
    relay: TencentSandbox,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("PIPELINE_REDACTION_KEY")
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    path = tmp_path / "config.yaml"
    path.write_text(
        "accounts:\n"
        f"  - {{name: tencent-main, vendor: tencent, secret_id: {SECRET_ID},\n"
        f"     secret_key: {SECRET_KEY}, endpoint: '{settings.accounts[0].endpoint}'}}\n"
    )
    assert await run_cli(["sync", "--config", str(path), "--quiet"]) == 2
    assert "PIPELINE_REDACTION_KEY" in capsys.readouterr().err
    assert len(relay.requests) == 0


# --- the scrub of what an earlier release stored ---------------------------------------------


def served(task: dict[str, Any]) -> dict[str, Any]:
    """A relay task as the list answers it."""
    return {name: task[name] for name in LIST_FIELDS if name in task}


async def store_as_before(pool: asyncpg.Pool, relay: TencentSandbox, now: int) -> None:
    """Rows as a release without redaction wrote them: raw as served, its content hash."""
    seen = datetime.fromtimestamp(now, UTC)
    source, rows = PullStreamTasks(), []
    for task in relay.pull_tasks.values():
        item = source.normalize(served(task), seen)
        if isinstance(item, Task):
            rows.append(
                ("tencent", "tencent-main", API, item.task_id, item.kind, item.domain, item.app,
                 item.stream, item.status, item.vendor_status, item.start_time, item.end_time,
                 json.dumps(item.raw), seen, seen, content_hash(item))
            )  # fmt: skip
    await pool.executemany(
        "INSERT INTO tasks (vendor, account, api, task_id, kind, domain, app, stream, status, "
        "vendor_status, start_time, end_time, raw, first_seen_at, last_seen_at, content_hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        rows,
    )
    task = relay.pull_tasks[rotatable(relay)]
    old, new = "txSecret=01d5ec12e7&txTime=6a000000", task["PushArgs"]
    changes = {"raw.PushArgs": [old, new], "raw.CallbackUrl": [task["CallbackUrl"], ""]}
    await pool.execute(
        "INSERT INTO task_history (vendor, account, api, task_id, observed_at, changes) "
        "VALUES ('tencent', 'tencent-main', $1, $2, $3, $4)",
        API, task["TaskId"], seen, json.dumps(changes),
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO rejected_records (vendor, account, api, task_id, reason, raw, rejected_at) "
        "VALUES ('tencent', 'tencent-main', $1, 'malformed-1', 'StartTime: invalid', $2, $3)",
        API, json.dumps(served(MALFORMED)), seen,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO deferred_reads (vendor, account, api, task_id, kind, status, raw, seen_at, "
        "content_hash) SELECT vendor, account, api, task_id, kind, status, raw, last_seen_at, "
        "content_hash FROM tasks LIMIT 3"
    )


async def scrub(pool: asyncpg.Pool, key: bytes | None) -> None:
    """Migration 006 again, as on a database an earlier release migrated and filled."""
    await pool.execute("DELETE FROM schema_migrations WHERE version = $1", DATA_STEP)
    async with pool.acquire() as conn:
        assert await migrate(conn, redaction_key=key) == [DATA_STEP]


async def counts(pool: asyncpg.Pool) -> list[int]:
    tables = ("tasks", "task_history", "rejected_records", "deferred_reads")
    return [await pool.fetchval(f"SELECT count(*) FROM {table}") for table in tables]  # noqa: S608


async def test_the_scrub_removes_every_stored_secret_and_keeps_every_row(
    pool: asyncpg.Pool, relay: TencentSandbox, clock: Clock
) -> None:
    await store_as_before(pool, relay, clock.now)
    before, stored = await counts(pool), await stored_text(pool)
    secrets = secrets_in(stored)
    assert len(secrets) > 40 and all(s in stored for s in secrets)
    await scrub(pool, REDACTION_KEY.encode())
    stored = await stored_text(pool)
    assert [s for s in secrets if s in stored] == []
    assert await counts(pool) == before


async def test_after_the_scrub_a_sync_of_the_same_tasks_changes_nothing(
    pool: asyncpg.Pool, relay: TencentSandbox, settings: Settings, clock: Clock
) -> None:
    await store_as_before(pool, relay, clock.now)
    await pool.execute("DELETE FROM deferred_reads")
    await pool.execute("DELETE FROM task_history")
    await scrub(pool, REDACTION_KEY.encode())
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE content_hash IS NULL") > 0
    report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded" and report.sources[0].counts.changed == 0
    assert await pool.fetchval("SELECT count(*) FROM task_history") == 0
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE content_hash IS NULL") == 0


async def test_the_scrub_without_a_key_stops_naming_it_and_changes_nothing(
    pool: asyncpg.Pool, relay: TencentSandbox, clock: Clock
) -> None:
    await store_as_before(pool, relay, clock.now)
    await pool.execute("DELETE FROM schema_migrations WHERE version = $1", DATA_STEP)
    stored = await stored_text(pool)
    async with pool.acquire() as conn:
        with pytest.raises(ConfigError, match="PIPELINE_REDACTION_KEY"):
            await migrate(conn)
    assert await stored_text(pool) == stored


async def test_pipeline_migrate_scrubs_with_the_key_from_the_environment(
    pool: asyncpg.Pool,
    relay: TencentSandbox,
    clock: Clock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await store_as_before(pool, relay, clock.now)
    await pool.execute("DELETE FROM schema_migrations WHERE version = $1", DATA_STEP)
    secrets = secrets_in(await stored_text(pool))
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    monkeypatch.delenv("PIPELINE_CONFIG", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no config.yaml here: the environment alone
    assert await run_cli(["migrate"]) == 0
    stored = await stored_text(pool)
    assert secrets and [s for s in secrets if s in stored] == []
