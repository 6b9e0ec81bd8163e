"""The command line as a user meets it: exit statuses, messages, and no secret in any output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.cli import run_cli
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY
from tests.runs import reachable

GOOD_ACCOUNT = """
  - name: tencent-main
    vendor: tencent
    secret_id: ${TENCENT_SECRET_ID}
    secret_key: ${TENCENT_SECRET_KEY}
    endpoint: ENDPOINT
    apis: [DescribeRecordTask]
    rate_limits: {DescribeRecordTask: 500}
"""
FAST_RETRIES = """
retry: {attempts: 3, initial_wait: 0.001, max_wait: 0.01, total_timeout: 10}
"""


def write_config(tmp_path: Path, accounts: str, endpoint: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("accounts:" + accounts.replace("ENDPOINT", endpoint) + FAST_RETRIES)
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    monkeypatch.setenv("TENCENT_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENT_SECRET_KEY", SECRET_KEY)


BAD_CONFIGS = {
    "unknown vendor": ("vendor: tencent", "vendor: tencentt", "vendor"),
    "missing credential": ("    secret_key: ${TENCENT_SECRET_KEY}\n", "", "secret_key"),
    "empty credential": ("${TENCENT_SECRET_KEY}", "''", "secret_key"),
    "unknown API": (
        "{DescribeRecordTask: 500}",
        "{DescribeRecordTasks: 500}",
        "DescribeRecordTasks",
    ),
    "rate limit of 0": ("{DescribeRecordTask: 500}", "{DescribeRecordTask: 0}", "rate_limits"),
    "unset variable": ("${TENCENT_SECRET_KEY}", "${NO_SUCH_SECRET}", "NO_SUCH_SECRET"),
}


@pytest.mark.parametrize("mistake", BAD_CONFIGS, ids=list(BAD_CONFIGS))
async def test_bad_config_exits_2_naming_the_key_before_any_request(
    mistake: str,
    tmp_path: Path,
    env: None,
    tencent: TencentSandbox,
    tencent_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new, named = BAD_CONFIGS[mistake]
    path = write_config(tmp_path, GOOD_ACCOUNT.replace(old, new), tencent_url)
    assert await run_cli(["sync", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "tencent-main" in err and named in err
    assert len(tencent.requests) == 0


async def test_duplicate_account_names_exit_2(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, GOOD_ACCOUNT + GOOD_ACCOUNT)
    assert await run_cli(["sync", "--config", str(path)]) == 2
    assert "tencent-main" in capsys.readouterr().err


async def test_an_unknown_account_on_the_command_line_exits_2(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, GOOD_ACCOUNT)
    assert await run_cli(["sync", "--config", str(path), "--account", "nope"]) == 2
    assert "--account nope" in capsys.readouterr().err


def test_a_date_without_offset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        import asyncio

        asyncio.run(run_cli(["backfill", "--since", "2026-01-01T10:00:00"]))
    assert exit_.value.code == 2
    assert "no UTC offset" in capsys.readouterr().err


async def test_sync_exits_0_and_status_shows_the_source(
    tmp_path: Path, env: None, tencent_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, GOOD_ACCOUNT, tencent_url)
    assert await run_cli(["sync", "--config", str(path), "--quiet"]) == 0
    capsys.readouterr()
    assert await run_cli(["status", "--config", str(path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    source = status["sources"][0]
    assert (source["account"], source["api"]) == ("tencent-main", "DescribeRecordTask")
    assert source["last_success"] is not None and source["complete"] and source["healthy"]


async def test_status_shows_a_relay_listing_as_the_whole_account(
    tmp_path: Path,
    env: None,
    tencent: TencentSandbox,
    tencent_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    relay = GOOD_ACCOUNT.replace(
        "apis: [DescribeRecordTask]", "apis: [DescribeLivePullStreamTasks]"
    )
    relay = relay.replace("{DescribeRecordTask: 500}", "{DescribeLivePullStreamTasks: 500}")
    path = write_config(tmp_path, relay, tencent_url)
    assert await run_cli(["sync", "--config", str(path), "--quiet"]) == 0
    capsys.readouterr()
    assert await run_cli(["status", "--config", str(path)]) == 0
    assert "complete      the whole account" in capsys.readouterr().out


async def test_an_auth_error_exits_1_with_the_vendors_code(
    tmp_path: Path,
    env: None,
    tencent_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TENCENT_SECRET_KEY", "wrong-key-0123456789abcdef")
    path = write_config(tmp_path, GOOD_ACCOUNT, tencent_url)
    assert await run_cli(["sync", "--config", str(path), "--quiet"]) == 1
    assert "AuthFailure.SignatureFailure" in capsys.readouterr().err


async def test_secrets_never_appear_in_any_output(
    tmp_path: Path,
    env: None,
    db_url: str,
    tencent_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-key-fedcba9876543210"
    second = GOOD_ACCOUNT.replace("tencent-main", "second").replace(
        "${TENCENT_SECRET_KEY}", "${OTHER_KEY}"
    )
    monkeypatch.setenv("OTHER_KEY", wrong)
    path = write_config(tmp_path, GOOD_ACCOUNT + second, tencent_url)
    for argv in (["sync"], ["backfill", "--since", "2026-01-01"], ["status"], ["status", "--json"]):
        await run_cli([*argv, "--config", str(path), "--log-format", "json"])
    out = capsys.readouterr()
    output = out.out + out.err
    assert "AuthFailure.SignatureFailure" in output  # the failing account did report
    assert SECRET_KEY not in output and wrong not in output
    stored = await database_text(db_url)
    assert "AuthFailure.SignatureFailure" in stored
    assert SECRET_KEY not in stored and wrong not in stored


async def stored_task_ids(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {r["task_id"] for r in await conn.fetch("SELECT task_id FROM tasks")}
    finally:
        await conn.close()


async def database_text(url: str) -> str:
    """Every row of the pipeline's own tables, as text."""
    conn = await asyncpg.connect(url)
    try:
        tables = ["sync_runs", "sync_run_sources", "tasks", "rejected_records", "coverage_gaps"]
        rows = [await conn.fetch(f"SELECT row_to_json(t)::text AS r FROM {t} AS t") for t in tables]  # noqa: S608
    finally:
        await conn.close()
    return "\n".join(r["r"] for batch in rows for r in batch)


async def test_the_metrics_file_holds_the_runs_real_counts(
    tmp_path: Path, env: None, db_url: str, tencent: TencentSandbox, tencent_url: str
) -> None:
    path = write_config(tmp_path, GOOD_ACCOUNT, tencent_url)
    metrics = tmp_path / "textfile" / "pipeline.prom"
    argv = ["sync", "--config", str(path), "--quiet", "--metrics-file", str(metrics)]
    assert await run_cli(argv) == 0
    samples = {
        (s.name, s.labels.get("api")): s.value
        for family in text_string_to_metric_families(metrics.read_text())
        for s in family.samples
    }
    api = "DescribeRecordTask"
    stored = await stored_task_ids(db_url)
    assert samples[("pipeline_sync_tasks_inserted", api)] == len(stored)
    # The run planned its reach at or before now, so it reached at least what is reachable now.
    assert set(reachable(tencent, time.time())) <= stored
    assert samples[("pipeline_sync_requests", api)] == len(tencent.requests)
    assert samples[("pipeline_sync_succeeded", api)] == 1
    assert samples[("pipeline_sync_last_success_timestamp_seconds", api)] > 0
    assert samples[("pipeline_sync_run_succeeded", None)] == 1
