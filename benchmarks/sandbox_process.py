"""The Tencent sandbox served from a child process, so its CPU is not charged to the pipeline.

In-process, the twin's per-request work (it filters every stored task on each page) would
share the pipeline's event loop and GIL, and slow down exactly what is being measured.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox

ACTION = "DescribeRecordTask"
# Fake credentials, known only to the sandbox child.
SECRET_ID = "AKIDbench000000000000000000000000000"  # noqa: S105
SECRET_KEY = "bench-secret-key-0c1d2e3f4a5b6c7d"  # noqa: S105
START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What the child serves: synthetic record tasks, page size and rate (None: documented)."""

    days_back: int
    days_ahead: int
    per_day: int
    page_size: int
    rate: float | None
    seed: int


@dataclass(slots=True)
class SandboxSummary:
    """What the twin saw: its request log in numbers, and the CPU time it spent."""

    tasks: int = 0
    requests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    first_at: float = 0.0
    last_at: float = 0.0
    cpu_seconds: float = 0.0


@dataclass(slots=True)
class RemoteSandbox:
    """The running child: its URL while serving, its summary once stopped."""

    url: str
    summary: SandboxSummary | None = None


def _sandbox(spec: SandboxSpec) -> TencentSandbox:
    rates = None if spec.rate is None else {ACTION: spec.rate}
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, page_size=spec.page_size, rate_limits=rates
    )
    now = int(time.time())
    sandbox.add_record_tasks(
        generate_record_tasks(now, spec.days_back, spec.days_ahead, spec.per_day, spec.seed)
    )
    return sandbox


async def _serve(spec: SandboxSpec, conn: Connection) -> None:
    sandbox = _sandbox(spec)
    async with sandbox.serve() as server:
        conn.send(server.url)
        await asyncio.to_thread(conn.recv)  # any message means stop
    log = sandbox.requests.of(ACTION)
    conn.send(
        SandboxSummary(
            tasks=len(sandbox.record_tasks),
            requests=len(log),
            outcomes=dict(sandbox.requests.outcomes(ACTION)),
            first_at=log[0].at if log else 0.0,
            last_at=log[-1].at if log else 0.0,
            cpu_seconds=time.process_time(),
        )
    )


def serve_in_child(spec: SandboxSpec, conn: Connection) -> None:
    """The child's entry point: serve until told to stop, then send the summary."""
    asyncio.run(_serve(spec, conn))


def _receive(conn: Connection, timeout: float) -> Any:
    try:
        if conn.poll(timeout):
            return conn.recv()
    except EOFError:
        raise RuntimeError("the sandbox process exited early; see its traceback above") from None
    raise TimeoutError(f"the sandbox process did not answer within {timeout}s")


@asynccontextmanager
async def remote_sandbox(spec: SandboxSpec) -> AsyncIterator[RemoteSandbox]:
    """Serve `spec` from a spawned child; the summary is set when the block ends."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=serve_in_child, args=(spec, theirs), daemon=True)
    child.start()
    theirs.close()
    try:
        remote = RemoteSandbox(await asyncio.to_thread(_receive, ours, START_TIMEOUT))
        yield remote
        ours.send("stop")
        remote.summary = await asyncio.to_thread(_receive, ours, START_TIMEOUT)
    finally:
        ours.close()
        await asyncio.to_thread(child.join, 5)
        if child.is_alive():
            child.kill()
            await asyncio.to_thread(child.join, 5)
