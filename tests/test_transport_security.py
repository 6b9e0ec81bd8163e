"""Transport: https:// endpoints, no redirects followed, no signed URL in any message, CAs added."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from pipeline.cli import run_cli
from pipeline.config import HttpSettings, Settings, load_settings
from pipeline.db import runs
from pipeline.errors import ConfigError, TransportError
from pipeline.model import SourceKey
from pipeline.pacing import StrictPacer
from pipeline.planning.sources import SyncRequest
from pipeline.retry import RetryPolicy
from pipeline.runner import tls_context
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.server import SandboxServer
from pipeline.transport import Transport
from pipeline.urls import scrub
from pipeline.vendors.zego.client import ZegoClient
from pipeline.vendors.zego.sandbox import ZegoSandbox
from tests.conftest import FAST_RATE, ZEGO_APP_ID, ZEGO_SECRET, Clock, fast_settings, zego_account
from tests.runs import run

API = "DescribeTasks"
TLS = Path(__file__).resolve().parent / "data" / "tls"
# What a signed ZEGO URL carries; none of it may leave the transport.
SIGNED = ("Signature", "Nonce", "AppId=", "Timestamp=", "Action=", ZEGO_SECRET)
ZEGO_CONFIG = """\
accounts:
  - name: zego-main
    vendor: zego
    app_id: 1234567890
    server_secret: ${ZEGO_SERVER_SECRET}
    endpoint: ENDPOINT
    rate_limits: {DescribeTasks: 500}
retry: {attempts: 3, initial_wait: 0.001, max_wait: 0.01, total_timeout: 10}
"""


def write_config(tmp_path: Path, endpoint: str, text: str = ZEGO_CONFIG) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("ENDPOINT", endpoint), encoding="utf-8")
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("PIPELINE_DATABASE_URL", db_url)
    monkeypatch.setenv("ZEGO_SERVER_SECRET", ZEGO_SECRET)


def zego(clock: Clock | None = None, faults: FaultPlan | None = None) -> ZegoSandbox:
    options = {"clock": clock} if clock is not None else {}
    return ZegoSandbox(
        credentials={ZEGO_APP_ID: ZEGO_SECRET},
        rate_limits={API: FAST_RATE},
        faults=faults,
        **options,  # type: ignore[arg-type]
    )


class Recorder:
    """Another origin: answers anything as ZEGO would, and keeps whatever reaches it."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []

    def serve(self) -> SandboxServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        return SandboxServer(app)

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.method, request.path_qs, dict(request.headers), body))
        return web.json_response({"Code": 0, "Data": {"TotalCount": 0, "TaskidList": []}})


def transport(session: aiohttp.ClientSession, endpoint: str, attempts: int = 3) -> Transport:
    """A transport for ZEGO's DescribeTasks at `endpoint`, taken as is (not validated)."""
    account = zego_account("http://127.0.0.1:9").model_copy(update={"endpoint": endpoint})
    return Transport(
        session=session,
        client=ZegoClient(account),
        api=API,
        limiter=StrictPacer(FAST_RATE),
        policy=RetryPolicy(attempts=attempts, initial_wait=0, max_wait=0),
        timeout=5,
        clock=lambda: 1_700_000_000,
    )


# --- endpoints -----------------------------------------------------------------------------


async def test_an_http_endpoint_on_a_public_host_exits_2_naming_file_account_and_key(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "http://cloudrecord-api.zego.im")
    assert await run_cli(["sync", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: accounts[0] 'zego-main': endpoint: must be https://" in err


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://cloudrecord-api.zego.im",
        "http://10.0.0.1:8080",
        "http://127.0.0.1.nip.io",
        "ftp://cloudrecord-api.zego.im",
        "cloudrecord-api.zego.im",
        "https://user:pw-7f3a@cloudrecord-api.zego.im",
        "https://cloudrecord-api.zego.im/?token=1",
        "https://cloudrecord-api.zego.im:99999",
    ],
)
def test_an_endpoint_that_is_not_https_or_loopback_http_is_a_config_error(
    tmp_path: Path, endpoint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, endpoint), {"ZEGO_SERVER_SECRET": ZEGO_SECRET})
    assert "config.yaml: accounts[0] 'zego-main': endpoint: " in str(caught.value)
    assert "pw-7f3a" not in str(caught.value)


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:8080", "http://127.8.9.10", "http://localhost:8080", "http://[::1]:8080"],
)
def test_http_is_accepted_on_a_loopback_host(tmp_path: Path, endpoint: str) -> None:
    settings = load_settings(write_config(tmp_path, endpoint), {"ZEGO_SERVER_SECRET": "s"})
    assert settings.accounts[0].endpoint == endpoint


# --- redirects -----------------------------------------------------------------------------


async def test_a_redirect_elsewhere_fails_with_its_status_unretried_and_reaches_nothing(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    recorder = Recorder()
    async with recorder.serve() as elsewhere:
        faults = FaultPlan.script([FaultKind.REDIRECT_ELSEWHERE], redirect_to=elsewhere.url)
        sandbox = zego(clock, faults)
        async with sandbox.serve() as server:
            settings = fast_settings(zego_account(server.url))
            report = await run(pool, settings, SyncRequest(), clock.now)
            hosts = f"127.0.0.1:{server.port} answered HTTP 307 (to 127.0.0.1:{elsewhere.port})"
    source = report.sources[0]
    assert (source.outcome, source.error_code, source.retries) == ("failed", "Redirected", 0)
    assert f"{API} to {hosts}" in (source.error_message or "")
    redirected = sandbox.requests.of(API)[0]  # the first request drew the scripted fault
    assert [r.params for r in sandbox.requests.of(API)].count(redirected.params) == 1
    assert recorder.received == []


async def test_a_redirect_loops_error_holds_no_signature_in_runs_status_or_stderr(
    tmp_path: Path, env: None, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = zego(faults=FaultPlan.random(1.0, kinds=[FaultKind.REDIRECT_LOOP]))
    async with sandbox.serve() as server:
        path = write_config(tmp_path, server.url)
        assert await run_cli(["sync", "--config", str(path), "--log-format", "json"]) == 1
        stderr = capsys.readouterr().err
        await run_cli(["status", "--config", str(path), "--json"])
        host = f"127.0.0.1:{server.port}"
    status = json.loads(capsys.readouterr().out)
    stored = await run_tables_text(db_url)
    for text in (stderr, json.dumps(status), stored):
        assert "Redirected" in text and host in text
        assert [s for s in SIGNED if s in text] == []


async def run_tables_text(url: str) -> str:
    """Every row of sync_runs and sync_run_sources, as text."""
    conn = await asyncpg.connect(url)
    try:
        rows = [
            *await conn.fetch("SELECT row_to_json(r)::text AS t FROM sync_runs AS r"),
            *await conn.fetch("SELECT row_to_json(s)::text AS t FROM sync_run_sources AS s"),
        ]
    finally:
        await conn.close()
    return "\n".join(row["t"] for row in rows)


# --- failed exchanges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "failure", "host"),
    [
        ("http://127.0.0.1:99999", "InvalidUrlClientError", "an invalid URL"),
        ("http://[::1", "InvalidUrlClientError", "an invalid URL"),
        ("http://127.0.0.1:9", "ClientConnectorError", "127.0.0.1:9"),
    ],
    ids=["port out of range", "unclosed bracket", "connection refused"],
)
async def test_a_failed_exchange_names_api_host_and_exception_never_the_signed_url(
    session: aiohttp.ClientSession, endpoint: str, failure: str, host: str
) -> None:
    with pytest.raises(TransportError) as caught:
        await transport(session, endpoint, attempts=1)({"PageNumber": 1})
    message = str(caught.value)
    assert message.startswith(f"TransportError: {API} to {host}: connection failed: {failure}")
    assert [s for s in SIGNED if s in message] == []
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_scrub_masks_the_query_and_userinfo_of_every_url() -> None:
    text = (
        "InvalidURL http://u:p@127.0.0.1:99999/?Action=DescribeTasks&Signature=ab12 and "
        "'https://h.example/x#frag', then 127.0.0.1:9/?AppId=1&SignatureNonce=ff (twice)"
    )
    assert scrub(text) == (
        "InvalidURL http://***@127.0.0.1:99999/?*** and "
        "'https://h.example/x?***', then 127.0.0.1:9/?*** (twice)"
    )


async def test_error_text_is_scrubbed_as_it_is_stored(pool: asyncpg.Pool) -> None:
    run_id, at = uuid4(), datetime.now(UTC)
    signed = "boom at https://cloudrecord-api.zego.im/?Action=DescribeTasks&Signature=ab12"
    result = runs.SourceResult(SourceKey("zego", "zego-main", API), started_at=at, ended_at=at)
    result.outcome, result.error_code, result.error_message = "failed", "Crash", signed
    async with pool.acquire() as conn:
        await runs.start_run(conn, run_id, "sync", {}, at)
        await runs.save_source(conn, run_id, result)
        await runs.finish_run(conn, run_id, "failed", {}, signed, at)
        stored = [
            await conn.fetchval("SELECT error_message FROM sync_run_sources"),
            await conn.fetchval("SELECT error FROM sync_runs"),
        ]
    assert stored == ["boom at https://cloudrecord-api.zego.im/?***"] * 2


# --- ca_bundle -----------------------------------------------------------------------------


@pytest.fixture
def system_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The test "system" CA stands in for the OS trust store (OpenSSL reads these variables)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "system-ca.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))


def http_settings(ca_bundle: Path | None) -> Settings:
    return Settings(
        accounts=(zego_account("http://127.0.0.1:9"),), http=HttpSettings(ca_bundle=ca_bundle)
    )


@asynccontextmanager
async def https_server(certificate: Path) -> AsyncIterator[str]:
    """A loopback HTTPS server presenting `certificate` (signed for 127.0.0.1)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate)

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def get(url: str, context: ssl.SSLContext) -> str:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
        session.get(url) as response,
    ):
        return await response.text()


def test_ca_bundle_is_loaded_beside_the_system_store(system_store: None) -> None:
    context = tls_context(http_settings(TLS / "bundle-ca.pem"))
    subjects = {dict(n[0] for n in ca["subject"])["commonName"] for ca in context.get_ca_certs()}
    assert subjects == {"pipeline test system CA", "pipeline test bundle CA"}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("server", ["bundle", "system"])
async def test_with_ca_bundle_both_its_ca_and_the_systems_are_trusted(
    system_store: None, server: str
) -> None:
    context = tls_context(http_settings(TLS / "bundle-ca.pem"))
    async with https_server(TLS / f"{server}-server.pem") as url:
        assert await get(url, context) == "ok"


async def test_without_ca_bundle_a_server_signed_by_its_ca_is_refused(system_store: None) -> None:
    context = tls_context(http_settings(None))
    async with https_server(TLS / "bundle-server.pem") as url:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get(url, context)


def test_the_readme_shows_a_verified_database_connection() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "sslmode=verify-full" in readme
