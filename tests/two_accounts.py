"""Two Tencent accounts, each with both APIs, on one twin: for tests of what narrows a run and
of what a run shows per source."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import FAST_RATE

RECORD, RELAY = "DescribeRecordTask", "DescribeLivePullStreamTasks"
# The twin tells the accounts apart by their key ids.
IDS = {
    "tencent-main": "AKIDmain000000000000000000000000000000",
    "tencent-second": "AKIDsecond0000000",
}
KEYS = {"tencent-main": "main-secret-key-0a1b2c3d4e5f", "tencent-second": "second-key-6a7b8c9d0e"}
SOURCES = {(account, api) for account in IDS for api in (RECORD, RELAY)}
ACCOUNT = """
  - name: NAME
    vendor: tencent
    secret_id: ID
    secret_key: ${VAR}
    endpoint: ENDPOINT
    apis: [DescribeRecordTask, DescribeLivePullStreamTasks]
    rate_limits: {DescribeRecordTask: RATE, DescribeLivePullStreamTasks: RATE}
"""
FAST_RETRIES = "retry: {attempts: 3, initial_wait: 0.001, max_wait: 0.01, total_timeout: 10}\n"


def key_variable(account: str) -> str:
    """The environment variable the config reads `account`'s secret key from."""
    return f"{account.upper().replace('-', '_')}_KEY"


def twin() -> TencentSandbox:
    """Both accounts' record tasks (89 days back, 7 ahead) and no relay task, on the real clock:
    the clock a command runs by. A day inside the 90-day reach, so every task is reachable
    whenever the command plans (its reach stops a few minutes short of 90 days)."""
    sandbox = TencentSandbox(
        credentials={IDS[name]: KEYS[name] for name in IDS},
        rate_limits={RECORD: FAST_RATE, RELAY: FAST_RATE},
    )
    sandbox.add_record_tasks(
        generate_record_tasks(int(time.time()), days_back=89, per_day=4, seed=5)
    )
    return sandbox


def config(tmp_path: Path, url: str, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A config of both accounts on the twin at `url`; their keys and the test's database in
    the environment."""
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    accounts = ""
    for name in IDS:
        monkeypatch.setenv(key_variable(name), KEYS[name])
        accounts += (
            ACCOUNT.replace("NAME", name)
            .replace("ID", IDS[name])
            .replace("VAR", key_variable(name))
            .replace("ENDPOINT", url)
            .replace("RATE", str(FAST_RATE))
        )
    path = tmp_path / "config.yaml"
    path.write_text("accounts:" + accounts + FAST_RETRIES)
    return str(path)
