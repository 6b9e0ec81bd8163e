"""Shared fixtures: a real PostgreSQL per test, cloned from a migrated template."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import asyncpg
import pytest
from pydantic import SecretStr

from pipeline.config import HttpSettings, RedactionSettings, RetrySettings, Settings
from pipeline.db.connect import create_pool
from pipeline.redaction import KEY_ENV
from pipeline.sandbox.twin import Twin
from pipeline.vendors.base import AccountBase
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.zego.account import ZegoAccount
from tests.database import cloned_database, server_url, template_database

REDACTION_KEY = "test-redaction-key-3c5e7a9b1d"


@pytest.fixture(autouse=True)
def redaction_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with a redaction key in its environment (and its children's), as every
    deployment that syncs has; a test of its absence deletes it."""
    monkeypatch.setenv(KEY_ENV, REDACTION_KEY)
    return REDACTION_KEY


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    with template_database(pg_server) as name:
        yield name


@pytest.fixture
def db_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated database for this test alone."""
    with cloned_database(pg_server, pg_template) as url:
        yield url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test's database, made as the pipeline makes its own."""
    pool = await create_pool(db_url, 8)
    try:
        yield pool
    finally:
        await pool.close()


# --- the Tencent sandbox -------------------------------------------------------------------

SECRET_ID = "AKIDtest00000000000000000000000000000"
SECRET_KEY = "test-secret-key-9f3b2c71d5e04a8b"
# Far above the documented 20/s so tests stay fast; tests about rate limits set their own.
FAST_RATE = 2000.0


@pytest.fixture
def frozen_now() -> int:
    """One instant shared by the sandbox's clock and the pipeline's, so runs are repeatable."""
    return int(time.time())


class Clock:
    """One clock for a twin and the pipeline, moved forward by the test."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.start = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(frozen_now: int) -> Clock:
    return Clock(frozen_now)


@pytest.fixture
def tencent(frozen_now: int) -> TencentSandbox:
    """A Tencent twin holding 90 days of record tasks plus a week of scheduled ones."""
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: frozen_now,
        rate_limits={"DescribeRecordTask": FAST_RATE},
    )
    sandbox.add_record_tasks(generate_record_tasks(frozen_now, per_day=30, seed=11))
    return sandbox


@pytest.fixture
async def tencent_url(tencent: TencentSandbox) -> AsyncIterator[str]:
    async with tencent.serve() as server:
        yield server.url


@pytest.fixture
async def url(sandbox: Twin) -> AsyncIterator[str]:
    """Where the test module's own `sandbox` twin answers (its tests of the twin itself)."""
    async with sandbox.serve() as server:
        yield server.url


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def tencent_account(
    url: str,
    *,
    name: str = "tencent-main",
    secret_key: str = SECRET_KEY,
    rate: float = FAST_RATE,
    apis: tuple[str, ...] = ("DescribeRecordTask",),
) -> TencentAccount:
    """An account on the sandbox; by default only the API a test is about."""
    return TencentAccount(
        name=name,
        vendor="tencent",
        secret_id=SECRET_ID,
        secret_key=SecretStr(secret_key),
        endpoint=url,
        apis=list(apis),
        rate_limits={api: rate for api in apis},
    )


ZEGO_APP_ID, ZEGO_SECRET = 1234567890, "zego-test-secret-71aa"


def zego_account(url: str, *, rate: float = FAST_RATE) -> ZegoAccount:
    """A ZEGO account on the sandbox at `url`."""
    return ZegoAccount(
        name="zego-main",
        vendor="zego",
        app_id=ZEGO_APP_ID,
        server_secret=SecretStr(ZEGO_SECRET),
        endpoint=url,
        rate_limits={"DescribeTasks": rate},
    )


def fast_settings(*accounts: AccountBase, timeout: float = 5.0) -> Settings:
    """Settings whose retries wait (almost) nothing: behaviour, not time, is under test."""
    return Settings(
        accounts=accounts,
        retry=RetrySettings(attempts=8, initial_wait=0.001, max_wait=0.005, total_timeout=30),
        http=HttpSettings(timeout_seconds=timeout),
        redaction=RedactionSettings(key=SecretStr(REDACTION_KEY)),
    )
