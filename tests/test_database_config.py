"""No silent fallback: a command without a database stops, naming the key and the variable;
the embedded server only when asked for; `status` and `migrate` need no vendor secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pipeline.cli import run_cli
from pipeline.config import load_database_config
from pipeline.db import connect
from pipeline.errors import ConfigError
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY

ACCOUNT = """accounts:
  - name: tencent-main
    vendor: tencent
    secret_id: ${TENCENT_SECRET_ID}
    secret_key: ${TENCENT_SECRET_KEY}
    endpoint: ENDPOINT
    apis: [DescribeRecordTask]
    rate_limits: {DescribeRecordTask: 500}
"""
NO_DATABASE = {
    "empty from an unset variable": "database:\n  dsn: ${PIPELINE_DATABASE_URL:-}\n",
    "empty": "database: {dsn: ''}\n",
    "no database section": "",
}
COMMANDS = {
    "sync": ["sync"],
    "backfill": ["backfill", "--since", "2026-01-01"],
    "status": ["status"],
    "migrate": ["migrate"],
}


def write_config(tmp_path: Path, text: str, endpoint: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(ACCOUNT.replace("ENDPOINT", endpoint) + text)
    return path


@pytest.mark.parametrize("database", NO_DATABASE, ids=list(NO_DATABASE))
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
async def test_no_database_stops_with_exit_2_before_any_request(
    command: str,
    database: str,
    tmp_path: Path,
    tencent: TencentSandbox,
    tencent_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("PIPELINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TENCENT_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENT_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, NO_DATABASE[database], tencent_url)
    assert await run_cli([*COMMANDS[command], "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "database.dsn" in err and "PIPELINE_DATABASE_URL" in err
    assert len(tencent.requests) == 0
    assert not (tmp_path / ".pipeline").exists()


async def test_migrate_without_a_config_file_needs_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PIPELINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert await run_cli(["migrate"]) == 2
    assert "PIPELINE_DATABASE_URL" in capsys.readouterr().err


@asynccontextmanager
async def fake_embedded() -> AsyncIterator[str]:
    yield "postgresql://embedded"


async def test_the_embedded_server_serves_only_when_asked_and_no_dsn_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connect, "embedded_postgres", fake_embedded)
    async with connect.database_url(None, {}, embedded=True) as url:
        assert url == "postgresql://embedded"
    async with connect.database_url("postgresql://h/db", {}, embedded=True) as url:
        assert url == "postgresql://h/db"
    env = {"PIPELINE_DATABASE_URL": "postgresql://env/db"}
    async with connect.database_url(None, env, embedded=True) as url:
        assert url == "postgresql://env/db"
    with pytest.raises(ConfigError, match=r"database\.dsn .* PIPELINE_DATABASE_URL"):
        async with connect.database_url(None, {}, embedded=False):
            pass


def test_embedded_is_a_database_key(tmp_path: Path) -> None:
    config = load_database_config(write_config(tmp_path, "database: {embedded: true}\n"), {})
    assert config.database.embedded and config.database.dsn is None


def test_status_and_migrate_read_no_credential(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database:\n  dsn: ${PIPELINE_DATABASE_URL:-}\n")
    config = load_database_config(path, {"PIPELINE_DATABASE_URL": "postgresql://u:pw@h/db"})
    assert [(a.name, a.vendor, a.apis) for a in config.accounts] == [
        ("tencent-main", "tencent", ["DescribeRecordTask"])
    ]
    assert "pw" in config.database.secret_values()


def test_status_still_names_a_mistake_in_what_it_reads(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database: {dns: postgresql://h/db}\n")
    with pytest.raises(ConfigError, match=r"database\.dns: unknown key"):
        load_database_config(path, {})
    path = write_config(tmp_path, "").with_name("other.yaml")
    path.write_text(ACCOUNT.replace("vendor: tencent", "vendor: tencnet"))
    with pytest.raises(ConfigError, match="accounts\\[0\\] 'tencent-main': vendor: unknown vendor"):
        load_database_config(path, {})


async def test_status_runs_without_any_vendor_secret(
    tmp_path: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("TENCENT_SECRET_ID", "TENCENT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    path = write_config(tmp_path, "")
    assert await run_cli(["status", "--json", "--config", str(path)]) == 1  # never synced
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    assert (source["account"], source["api"]) == ("tencent-main", "DescribeRecordTask")
