"""Answers are read within a cap on bytes received and on bytes after decompression."""

from __future__ import annotations

import asyncio
import gzip
import sys
import zlib
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from pipeline.bodies import BodyCaps, BoundedBody
from pipeline.config import ReadSettings, Settings
from pipeline.errors import ResponseTooLarge, TransportError, UnknownEncoding
from pipeline.pacing import StrictPacer
from pipeline.retry import RetryPolicy, should_retry
from pipeline.sandbox.faults import FaultKind, FaultPlan, transport_fault
from pipeline.sandbox.server import SandboxServer
from pipeline.transport import Transport
from pipeline.vendors.tencent.client import TencentClient
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import fast_settings, tencent_account
from tests.runs import backfill_all, reachable, run, stored_ids

API = "DescribeRecordTask"
MB = 1_000_000
CAPS = BodyCaps(received=1 * MB, decoded=2 * MB)
ROOT = Path(__file__).resolve().parent.parent

# A child reading a gzip bomb: the interpreter with aiohttp peaks near 35 MiB, the reader may
# hold up to the 50 MB decoded cap the test sets (48 MiB) before it stops, and the rest is room.
# Read without a cap, the same bomb (400 MB of whitespace) takes the child to about 800 MiB.
BOMB_DECODED_CAP = 50 * MB
PEAK_RSS_CEILING = 150 * 2**20


def read(body: BoundedBody, data: bytes, chunk: int = 65_536) -> bytes:
    """Feed `data` as a server's chunks would arrive, then finish."""
    for start in range(0, len(data), chunk):
        body.feed(data[start : start + chunk])
    return body.finish()


def test_a_body_at_the_cap_passes() -> None:
    data = b"x" * CAPS.received
    assert read(BoundedBody(API, CAPS), data) == data


def test_a_body_one_byte_over_the_cap_fails_naming_the_cap() -> None:
    with pytest.raises(ResponseTooLarge) as caught:
        read(BoundedBody(API, CAPS), b"x" * (CAPS.received + 1))
    assert str(caught.value) == (
        "ResponseTooLarge: DescribeRecordTask answer is larger than 1 MB (reads.max_body_mb)"
    )


def test_a_content_length_over_the_cap_fails_before_reading() -> None:
    with pytest.raises(ResponseTooLarge, match="larger than 1 MB"):
        BoundedBody(API, CAPS).expect(CAPS.received + 1)


def test_a_gzip_body_at_the_decoded_cap_is_inflated() -> None:
    data = b'{"TaskList": []}'.ljust(CAPS.decoded)
    assert read(BoundedBody(API, CAPS, "gzip"), gzip.compress(data), chunk=1_000) == data


def test_a_gzip_body_under_the_raw_cap_but_over_the_decoded_cap_fails() -> None:
    small = gzip.compress(b" " * (CAPS.decoded + 1))
    assert len(small) < CAPS.received
    with pytest.raises(ResponseTooLarge) as caught:
        read(BoundedBody(API, CAPS, "gzip"), small)
    assert str(caught.value).endswith(
        "answer is larger than 2 MB after decompression (reads.max_decoded_mb)"
    )


def test_a_gzip_body_of_several_members_is_read_whole() -> None:
    encoded = gzip.compress(b'{"TaskList": ') + gzip.compress(b"[]}")
    assert read(BoundedBody(API, CAPS, "gzip"), encoded) == b'{"TaskList": []}'


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_a_deflate_body_is_inflated_with_or_without_its_zlib_header(wbits: int) -> None:
    data = b'{"TaskList": [{"TaskId": "a"}]}'
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    encoded = compressor.compress(data) + compressor.flush()
    assert read(BoundedBody(API, CAPS, "deflate"), encoded, chunk=3) == data


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_damaged_gzip_body_is_a_transport_error(damage: str) -> None:
    encoded = gzip.compress(bytes(range(256)) * 100)
    if damage == "corrupt":
        encoded = encoded[:20] + bytes(b ^ 0xFF for b in encoded[20:40]) + encoded[40:]
    else:
        encoded = encoded[: len(encoded) // 2]
    with pytest.raises(TransportError, match="corrupt gzip body"):
        read(BoundedBody(API, CAPS, "gzip"), encoded)


def test_an_encoding_never_asked_for_is_refused() -> None:
    with pytest.raises(UnknownEncoding, match="Content-Encoding 'br'"):
        BoundedBody(API, CAPS, "br")


def test_an_answer_too_large_is_never_retried() -> None:
    too_large = ResponseTooLarge("DescribeRecordTask answer is larger than 50 MB")
    assert not isinstance(too_large, TransportError)
    assert not should_retry(too_large, [])


async def test_the_transport_asks_for_gzip_and_inflates_it_whatever_the_session_says(
    session: aiohttp.ClientSession,
) -> None:
    async def gzipped(request: web.Request) -> web.Response:
        answer = b'{"Response": {"TaskList": [], "RequestId": "r-1"}}'
        assert request.headers["Accept-Encoding"] == "gzip, deflate"
        return web.Response(body=gzip.compress(answer), headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_post("/", gzipped)
    async with SandboxServer(app) as server:
        call = Transport(
            session=session,  # a session that would inflate answers itself, unbounded
            client=TencentClient(tencent_account(server.url)),
            api=API,
            limiter=StrictPacer(1000),
            policy=RetryPolicy(attempts=1),
            timeout=5,
            clock=lambda: 0,
        )
        assert await call({}) == {"TaskList": [], "RequestId": "r-1"}


def small_reads(settings: Settings) -> Settings:
    """Caps small enough that an oversized answer is cheap to send in a test."""
    reads = ReadSettings(max_body_mb=1, max_decoded_mb=5)
    return settings.model_copy(update={"reads": reads})


@pytest.mark.parametrize(
    ("kind", "cap"),
    [
        (FaultKind.OVERSIZED, "1 MB (reads.max_body_mb)"),
        (FaultKind.OVERSIZED_CHUNKED, "1 MB (reads.max_body_mb)"),
        (FaultKind.GZIP_BOMB, "5 MB after decompression (reads.max_decoded_mb)"),
    ],
)
async def test_an_answer_past_a_cap_fails_its_window_only_and_is_not_retried(
    pool: asyncpg.Pool,
    tencent: TencentSandbox,
    tencent_url: str,
    frozen_now: int,
    kind: FaultKind,
    cap: str,
) -> None:
    tencent.faults = FaultPlan.script([kind], action=API, oversize_bytes=3 * MB)
    settings = small_reads(fast_settings(tencent_account(tencent_url)))
    report = await run(pool, settings, backfill_all(frozen_now), frozen_now)
    [hit] = [r for r in tencent.requests.of(API) if r.outcome == kind]
    assert [r.params for r in tencent.requests.of(API)].count(hit.params) == 1
    source = report.sources[0]
    assert (report.outcome, source.error_code, source.retries) == ("failed", "ResponseTooLarge", 0)
    assert f"{API} answer is larger than {cap}" in (source.error_message or "")
    start, end = hit.params["StartTime"], hit.params["EndTime"]
    elsewhere = [
        task_id
        for task_id in reachable(tencent, frozen_now)
        if not start <= tencent.record_tasks[task_id]["StartTime"] <= end
        or not start <= tencent.record_tasks[task_id]["EndTime"] <= end
    ]
    # Waits on jobs.py: a cut window fails alone while the source's other windows load.
    assert set(elsewhere) <= set(await stored_ids(pool))


async def test_reading_a_gzip_bomb_keeps_memory_under_the_ceiling(tmp_path: Path) -> None:
    async def bomb(request: web.Request) -> web.StreamResponse:
        return await transport_fault(request, FaultKind.GZIP_BOMB, b"{}")

    app = web.Application()
    app.router.add_get("/", bomb)
    peak = tmp_path / "peak"
    async with SandboxServer(app) as server:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.peak_rss",
            str(peak),
            "tests.read_bomb",
            server.url,
            str(BodyCaps().received),
            str(BOMB_DECODED_CAP),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, _ = await child.communicate()
    assert (
        out.decode()
        .strip()
        .endswith("larger than 50 MB after decompression (reads.max_decoded_mb)")
    )
    assert int(peak.read_text()) < PEAK_RSS_CEILING
