"""The vendor twins served from a child process, so their CPU is not charged to the pipeline.

In-process, the twins' per-request work would share the pipeline's event loop and GIL and slow
down exactly what is measured. The child serves every twin of each named `Dataset`, then answers
the parent over a pipe, one message at a time:

    ("hits", group, vendor, start) -> the twin's requests from `start` on, their total, its CPU
    ("rate", group, vendor, action, rate) -> the twin's limiter now allows `rate` for `action`
    ("stop",) -> the child's CPU, then the child exits
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from benchmarks.accounts import twin_credentials
from benchmarks.datasets import Dataset
from benchmarks.twins import Twin, build_twins
from pipeline.vendors import VENDORS
from pipeline.vendors.base import Vendor

# Generating a million tasks and indexing them takes the child a while.
START_TIMEOUT = 900.0
ANSWER_TIMEOUT = 60.0


class Hit(NamedTuple):
    """One request a twin received: its action, how the twin answered it, and when."""

    action: str
    outcome: str
    at: float


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """What the child serves: named groups of tasks, with each group's twins' rate overrides."""

    groups: Mapping[str, Dataset]
    rates: Mapping[str, Mapping[str, float]]
    """Per group, action -> requests/s; an action not named keeps its documented rate."""
    vendors: Mapping[str, Vendor] = field(default_factory=lambda: dict(VENDORS))
    """The registry as the parent has it: the spawned child starts from the default one, and
    a vendor registered since (a test's) must have its twin served too."""


def _hits(twin: Twin, start: int) -> list[Hit]:
    return [Hit(r.action, r.outcome, r.at) for r in twin.requests[start:]]


async def _serve(spec: FleetSpec, conn: Connection) -> None:
    VENDORS.update(spec.vendors)
    credentials = twin_credentials()
    twins = {
        name: build_twins(data, credentials, spec.rates.get(name))
        for name, data in spec.groups.items()
    }
    # Millions of long-lived task dicts: keep the collector from walking them on every pass.
    gc.collect()
    gc.freeze()
    async with AsyncExitStack() as stack:
        urls = {
            (group, vendor): (await stack.enter_async_context(twin.serve())).url
            for group, members in twins.items()
            for vendor, twin in members.items()
        }
        conn.send(urls)
        while (message := await asyncio.to_thread(conn.recv))[0] != "stop":
            kind, group, vendor, *rest = message
            twin = twins[group][vendor]
            if kind == "hits":
                start = rest[0]
                conn.send((_hits(twin, start), len(twin.requests), time.process_time()))
            else:
                action, rate = rest
                twin.limiter.set_rate(action, rate)
                conn.send(None)
    conn.send(time.process_time())


def serve_in_child(spec: FleetSpec, conn: Connection) -> None:
    """The child's entry point: serve until told to stop."""
    asyncio.run(_serve(spec, conn))


def _receive(conn: Connection, timeout: float) -> Any:
    try:
        if conn.poll(timeout):
            return conn.recv()
    except EOFError:
        raise RuntimeError("the sandbox process exited early; see its traceback above") from None
    raise TimeoutError(f"the sandbox process did not answer within {timeout}s")


class RemoteFleet:
    """The parent's handle on the running child."""

    def __init__(self, conn: Connection, urls: Mapping[tuple[str, str], str]) -> None:
        self._conn = conn
        self._urls = dict(urls)
        self._lock = asyncio.Lock()
        self.cpu_seconds: float | None = None
        """The child's whole CPU time, set once it stopped."""

    def url(self, group: str, vendor: str) -> str:
        return self._urls[(group, vendor)]

    async def ask(self, *message: Any) -> Any:
        async with self._lock:  # one question at a time on the pipe
            self._conn.send(message)
            return await asyncio.to_thread(_receive, self._conn, ANSWER_TIMEOUT)

    async def hits(self, group: str, vendor: str, start: int = 0) -> tuple[list[Hit], int, float]:
        """The twin's requests from index `start` on, how many it received in all, and the
        child's CPU seconds so far."""
        return await self.ask("hits", group, vendor, start)

    async def mark(self, group: str, vendor: str) -> tuple[int, float]:
        """How many requests the twin received so far, and the child's CPU seconds."""
        _, count, cpu = await self.hits(group, vendor, sys.maxsize)
        return count, cpu

    async def set_rate(self, group: str, vendor: str, action: str, rate: float) -> None:
        await self.ask("rate", group, vendor, action, rate)


@asynccontextmanager
async def remote_fleet(spec: FleetSpec) -> AsyncIterator[RemoteFleet]:
    """Serve `spec` from a spawned child for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=serve_in_child, args=(spec, theirs), daemon=True)
    child.start()
    theirs.close()
    try:
        fleet = RemoteFleet(ours, await asyncio.to_thread(_receive, ours, START_TIMEOUT))
        yield fleet
        fleet.cpu_seconds = await fleet.ask("stop")
    finally:
        ours.close()
        await asyncio.to_thread(child.join, 5)
        if child.is_alive():
            child.kill()
            await asyncio.to_thread(child.join, 5)
