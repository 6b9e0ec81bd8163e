"""Three roles, set up as the README says: the owner migrates, the loader backfills and syncs,
analysts read and run `status` with no vendor secret set; each is refused what it must not do."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from pipeline.db.sqlfiles import sql_dir
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY
from tests.database import _admin, as_role, with_database
from tests.processes import tencent_config

README = Path(__file__).resolve().parent.parent / "README.md"
ROLES_SQL = sql_dir() / "roles.sql"
VENDOR_SECRETS = ("TENCENT_", "VOLC_", "ZEGO_")
API = "DescribeRecordTask"


@dataclass(frozen=True)
class Roles:
    """One run's roles on one database: names are cluster-wide, so unique to this run."""

    admin: str  # the superuser's URL of the database
    database: str
    owner: str
    loader: str
    analysts: str  # a NOLOGIN group, as the README has it
    analyst: str  # a login in that group

    def url(self, role: str) -> str:
        return as_role(self.admin, role)


def roles_sql(variables: dict[str, str]) -> str:
    """sql/roles.sql with its psql variables (`:"name"`) substituted as `psql -v` does."""
    return re.sub(
        r':"(\w+)"',
        lambda m: '"' + variables[m[1]].replace('"', '""') + '"',
        ROLES_SQL.read_text("utf-8"),
    )


async def pipeline_cli(
    argv: list[str], url: str, cwd: Path, secrets: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """`python -m pipeline ARGV` on the database at `url`, with no vendor secret in its
    environment but `secrets`; its exit status, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_SECRETS)}
    env.pop("PIPELINE_CONFIG", None)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipeline",
        *argv,
        "--log-format",
        "json",
        env={**env, "PIPELINE_DATABASE_URL": url, **(secrets or {})},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


@pytest.fixture(scope="module")
def roles(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roles]:
    """A database owned by a fresh owner role, migrated by it (`pipeline migrate`), and the
    loader and analyst roles granted sql/roles.sql by it."""
    run = uuid.uuid4().hex[:10]
    names = {k: f"pl_{run}_{k}" for k in ("owner", "loader", "analysts", "analyst")}
    database = f"pipeline_roles_{run}"
    asyncio.run(
        _admin(
            pg_server,
            f'CREATE ROLE "{names["owner"]}" LOGIN',
            f'CREATE ROLE "{names["loader"]}" LOGIN',
            f'CREATE ROLE "{names["analysts"]}" NOLOGIN',
            f'CREATE ROLE "{names["analyst"]}" LOGIN IN ROLE "{names["analysts"]}"',
            f'CREATE DATABASE "{database}" OWNER "{names["owner"]}"',
        )
    )
    roles = Roles(with_database(pg_server, database), database, **names)
    try:
        cwd = tmp_path_factory.mktemp("owner")
        code, out, err = asyncio.run(pipeline_cli(["migrate"], roles.url(roles.owner), cwd))
        assert code == 0, err[-2000:]
        assert "schema is up to date" in out
        grants = roles_sql({"DBNAME": database, "loader": roles.loader, "analyst": roles.analysts})
        asyncio.run(_admin(roles.url(roles.owner), grants))
        yield roles
    finally:
        asyncio.run(
            _admin(
                pg_server,
                f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                *(f'DROP ROLE IF EXISTS "{name}"' for name in names.values()),
            )
        )


@pytest.fixture
async def sandbox() -> AsyncIterator[str]:
    """A Tencent twin on the real clock (the child processes use it); its URL."""
    twin = TencentSandbox(credentials={SECRET_ID: SECRET_KEY}, rate_limits={API: FAST_RATE})
    twin.add_record_tasks(generate_record_tasks(int(time.time()), days_back=5, per_day=10, seed=4))
    async with twin.serve() as server:
        yield server.url


async def test_each_command_runs_as_its_role(roles: Roles, sandbox: str, tmp_path: Path) -> None:
    config = tencent_config(tmp_path, sandbox, SECRET_ID, rate=FAST_RATE)
    loader, analyst = roles.url(roles.loader), roles.url(roles.analyst)
    secret = {"TENCENT_SECRET_KEY": SECRET_KEY}
    since = (datetime.now(UTC) - timedelta(days=6)).date().isoformat()
    for argv in (["backfill", "--since", since], ["sync"]):
        argv += ["--config", str(config)]
        code, _, err = await pipeline_cli(argv, loader, tmp_path, secret)
        assert code == 0, err[-2000:]
    # Migrating an up-to-date database changes nothing, so the loader may run it too.
    assert (await pipeline_cli(["migrate"], loader, tmp_path))[0] == 0
    # Status: the analyst's role, and not one vendor secret in the environment.
    argv = ["status", "--json", "--config", str(config)]
    code, out, err = await pipeline_cli(argv, analyst, tmp_path)
    assert code == 0, err[-2000:]
    (source,) = json.loads(out)["sources"]
    assert (source["account"], source["api"]) == ("tencent-main", API)
    assert source["last_success"] is not None and source["healthy"]
    conn = await asyncpg.connect(analyst)
    try:  # analysts type `tasks`: roles.sql made `pipeline` the database's search path
        assert await conn.fetchval("SELECT count(*) FROM tasks") > 0
        assert await conn.fetchval("SELECT count(*) FROM tasks_per_day") > 0
    finally:
        await conn.close()


async def test_the_owner_owns_every_object_and_public_holds_none(roles: Roles) -> None:
    conn = await asyncpg.connect(roles.admin)
    try:
        owners = await conn.fetch(
            """SELECT DISTINCT pg_get_userbyid(relowner) AS owner, relnamespace::regnamespace::text
               AS schema FROM pg_class
               WHERE relnamespace IN ('pipeline'::regnamespace, 'public'::regnamespace)"""
        )
    finally:
        await conn.close()
    assert [(r["owner"], r["schema"]) for r in owners] == [(roles.owner, "pipeline")]


LOADER_REFUSED = [
    "CREATE TABLE pipeline.extra (x int)",
    "CREATE TABLE public.extra (x int)",
    "ALTER TABLE pipeline.tasks ADD COLUMN extra int",
    "DROP TABLE pipeline.coverage",
    "CREATE FUNCTION pipeline.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE INDEX extra_idx ON pipeline.tasks (stream)",
    "TRUNCATE pipeline.task_history",
    "DELETE FROM pipeline.schema_migrations",
    "CREATE SCHEMA extra",
]


@pytest.mark.parametrize("statement", LOADER_REFUSED)
async def test_the_loader_may_not_change_the_schema(roles: Roles, statement: str) -> None:
    conn = await asyncpg.connect(roles.url(roles.loader))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


ANALYST_REFUSED = [
    "SELECT raw FROM pipeline.rejected_records",
    "SELECT * FROM pipeline.rejected_records",
    "SELECT * FROM pipeline.deferred_reads",
    "SELECT * FROM pipeline.source_holders",
    "INSERT INTO pipeline.coverage_gaps (vendor, account, api, period, detected_at, reason)"
    " VALUES ('v', 'a', 'x', 'empty', now(), 'r')",
    "UPDATE pipeline.tasks SET status = 'failed'",
    "DELETE FROM pipeline.task_history",
    "CREATE TABLE pipeline.extra (x int)",
]
ANALYST_ALLOWED = [
    "SELECT count(*) FROM pipeline.task_history",
    "SELECT count(*) FROM pipeline.source_coverage",
    "SELECT count(*) FROM pipeline.recording_hours_per_stream_day",
    "SELECT count(*), max(reason) FROM pipeline.rejected_records",
]


@pytest.mark.parametrize("statement", ANALYST_REFUSED)
async def test_analysts_may_not_read_payloads_or_bookkeeping_nor_write(
    roles: Roles, statement: str
) -> None:
    conn = await asyncpg.connect(roles.url(roles.analyst))
    try:
        for allowed in ANALYST_ALLOWED:
            await conn.fetch(allowed)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_nobody_else_may_connect(roles: Roles, pg_server: str) -> None:
    stranger = f"pl_{uuid.uuid4().hex[:10]}_stranger"
    await _admin(pg_server, f'CREATE ROLE "{stranger}" LOGIN')
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(roles.url(stranger))
    finally:
        await _admin(pg_server, f'DROP ROLE "{stranger}"')


def test_the_readme_shows_the_grants_the_tests_apply() -> None:
    text = README.read_text("utf-8")
    section = text.split("### Database roles", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    assert ROLES_SQL.read_text("utf-8") in blocks
