"""What the PostgreSQL server carries during a scale round: its connections at their peak, and
the CPU of all its processes (on the same cores as the workers and the twins).

The connections are sampled from `pg_stat_activity` while the round runs: every source holds
one for its lock, so workers' pools add up against the server's `max_connections`. The CPU is
read from /proc, so only for a server on this machine: the postmaster's own, its children's
while they live, and (through the postmaster's reaped-children times) theirs once they exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from benchmarks.database import sql

SAMPLE_SECONDS = 0.05
PROC = Path("/proc")


@dataclass(slots=True)
class Connections:
    """The most client connections seen at once: to the round's database, and server-wide."""

    database: int = 0
    server: int = 0


@dataclass(slots=True)
class ServerLoad:
    """The server during a round: its connections at their peak, its CPU (None: not local)."""

    connections: Connections = field(default_factory=Connections)
    cpu_seconds: float | None = None


async def sample_connections(url: str, database: str, done: asyncio.Event) -> Connections:
    """Sample the server's client connections until `done` is set (this one not counted)."""
    peak = Connections()
    conn = await asyncpg.connect(url)
    try:
        while not done.is_set():
            row = await conn.fetchrow(sql("client_connections"), database)
            peak.database = max(peak.database, row["database"])
            peak.server = max(peak.server, row["server"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), SAMPLE_SECONDS)
    finally:
        await conn.close()
    return peak


def _fields(pid: int, proc: Path = PROC) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        return (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def postmaster_of(backend: int, proc: Path = PROC) -> int | None:
    """The postmaster of a local backend: its parent."""
    fields = _fields(backend, proc)
    return int(fields[1]) if fields else None


def server_cpu(postmaster: int, proc: Path = PROC) -> float | None:
    """CPU seconds of the server so far: the postmaster, its live children, its reaped ones."""
    own = _fields(postmaster, proc)
    if own is None:
        return None
    ticks = sum(int(value) for value in own[11:15])  # utime, stime, cutime, cstime
    for stat in proc.glob("[0-9]*/stat"):
        fields = _fields(int(stat.parent.name), proc)
        if fields and int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def local_postmaster(url: str) -> int | None:
    """The postmaster's pid when the server runs on this machine and /proc shows it."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(sql("server_mark"))
        # Read while the backend lives: its parent is the postmaster.
        return postmaster_of(row["pid"]) if row["local"] else None
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def watching(url: str, database: str, postmaster: int | None) -> AsyncIterator[ServerLoad]:
    """The server's load while the block runs on `database` (a URL), filled in at its end."""
    load = ServerLoad()
    done = asyncio.Event()
    sampler = asyncio.create_task(
        sample_connections(url, urlsplit(database).path.lstrip("/"), done)
    )
    before = server_cpu(postmaster) if postmaster else None
    try:
        yield load
    finally:
        after = server_cpu(postmaster) if postmaster else None
        done.set()
        load.connections = await sampler
        if before is not None and after is not None:
            load.cpu_seconds = after - before
