"""What the database server spent on a scenario: its backend's CPU time and the WAL written.

The backend's CPU is read from /proc, so only for a server on this machine; WAL is counted
server-wide, so other sessions' writes (autovacuum, a test run) add to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from benchmarks.database import sql


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """CPU seconds of the scenario's backend (None: not measurable here) and WAL bytes."""

    cpu_seconds: float | None
    wal_bytes: int


@dataclass(frozen=True, slots=True)
class UsageMark:
    """Where the backend's CPU and the server's WAL stood before a scenario."""

    pid: int
    cpu_seconds: float | None
    lsn: str


def backend_cpu(pid: int, proc: Path = Path("/proc")) -> float | None:
    """User + system CPU seconds of the local process `pid`, if it is a PostgreSQL backend."""
    try:
        if (proc / str(pid) / "comm").read_text().strip() != "postgres":
            return None
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def usage_mark(pool: asyncpg.Pool) -> UsageMark:
    row = await pool.fetchrow(sql("server_mark"))
    cpu = backend_cpu(row["pid"]) if row["local"] else None
    return UsageMark(row["pid"], cpu, row["lsn"])


async def usage_since(pool: asyncpg.Pool, mark: UsageMark) -> ServerUsage:
    """The usage since `mark`; CPU only when the same local backend served the whole scenario."""
    row = await pool.fetchrow(sql("wal_since"), mark.lsn)
    cpu = None
    if mark.cpu_seconds is not None and row["pid"] == mark.pid:
        now = backend_cpu(mark.pid)
        cpu = None if now is None else now - mark.cpu_seconds
    return ServerUsage(cpu, int(row["wal_bytes"]))
