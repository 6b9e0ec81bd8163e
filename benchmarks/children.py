"""`pipeline` commands run as child processes of their own, as a scheduler runs them.

Each child's output goes to a log file; its CPU time comes from the kernel (`os.wait4`) and its
peak resident set from `benchmarks.peak_rss`, so neither this process nor the twins' child is
charged to it. Spawning and waiting are apart, so several workers can start at once.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL = 2_000


@dataclass(frozen=True, slots=True)
class ProcessRun:
    """One `pipeline` command in a child process, as the kernel accounted for it."""

    command: str
    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True, slots=True)
class Child:
    """A spawned `pipeline` command, not yet waited for."""

    pid: int
    command: str
    started: float
    """time.perf_counter() just before the spawn."""
    log: Path

    @property
    def peak_file(self) -> Path:
        return self.log.with_suffix(".peak")


def pipeline_env(database: str) -> dict[str, str]:
    """This process's environment, with the scratch database and the checkout on the path."""
    # The checkout first on the path, so the child finds `benchmarks` from any directory.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PIPELINE_DATABASE_URL": database, "PYTHONPATH": path}


def spawn_pipeline(args: list[str], env: dict[str, str], log: Path) -> Child:
    """Start `python -m pipeline ARGS` with its output in `log`; does not wait."""
    argv = [sys.executable, "-m", "benchmarks.peak_rss", str(log.with_suffix(".peak"))]
    argv += ["pipeline", *args]
    log.with_suffix(".peak").unlink(missing_ok=True)  # a killed child writes none: none stale
    started = time.perf_counter()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        pid = os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)],
        )
    finally:
        os.close(fd)
    return Child(pid, f"pipeline {args[0]}", started, log)


def wait_for(child: Child) -> tuple[ProcessRun, float]:
    """Block until `child` exits: its run, and time.perf_counter() when it was seen ending."""
    _, status, usage = os.wait4(child.pid, 0)
    ended = time.perf_counter()
    code = os.waitstatus_to_exitcode(status)
    # A worker that failed still wrote its peak on the way out; one killed did not.
    peak = int(child.peak_file.read_text("ascii")) if child.peak_file.exists() else 0
    run = ProcessRun(
        command=child.command,
        exit_code=code,
        wall_seconds=ended - child.started,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=peak,
    )
    return run, ended


def log_tail(log: Path) -> str:
    """The end of a child's output, to show why it failed."""
    return log.read_text("utf-8", errors="replace")[-LOG_TAIL:]


def last_failure(log: Path) -> str:
    """The line of a child's output that says why it failed (the last that says so), else its
    last line."""
    lines = [line for line in log_tail(log).splitlines() if line.strip()]
    failed = [line for line in lines if "failed" in line]
    return (failed or lines or ["(no output)"])[-1]
