"""A scale round's workers: `pipeline` commands started at once, one shard each, waited for
each on a thread of its own, and stopped if the round runs out of time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.children import (
    Child,
    ProcessRun,
    last_failure,
    pipeline_env,
    spawn_pipeline,
    wait_for,
)

STOP_SECONDS = 30.0
"""How long stopped workers get to record their runs before they are killed."""


def shard_args(index: int, count: int) -> list[str]:
    """One worker's share: none named when it is the only one (it runs every source)."""
    return [] if count == 1 else ["--shard", f"{index}/{count}"]


def run_workers(args: list[str], count: int, database: str, folder: Path) -> list[Child]:
    """Start `count` workers of `pipeline ARGS` at once, each on its own shard."""
    env = pipeline_env(database)
    name = f"{args[0]}-{count}"
    return [
        spawn_pipeline([*args, *shard_args(i, count)], env, folder / f"{name}-{i}.log")
        for i in range(count)
    ]


async def wait_all(
    children: Sequence[Child], time_limit: float
) -> tuple[list[tuple[ProcessRun, float]], bool]:
    """Each child's run and when it ended, and whether the round ran out of time (its workers
    were then told to stop). Waited for on threads of their own: a shared pool's queue would
    see a child end late."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=len(children)) as threads:
        waits = {loop.run_in_executor(threads, wait_for, child): child for child in children}
        _, pending = await asyncio.wait(waits, timeout=time_limit)
        for future in pending:
            stop(waits[future], signal.SIGTERM)  # the pipeline stops its windows and records
        _, still = await asyncio.wait(pending, timeout=STOP_SECONDS) if pending else ((), ())
        for future in still:
            stop(waits[future], signal.SIGKILL)
        return [await future for future in waits], bool(pending)


def stop(child: Child, how: signal.Signals) -> None:
    """Signal a worker not yet waited for (so its pid is still its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, how)


def exit_problems(
    children: Sequence[Child], ended: list[tuple[ProcessRun, float]], cut_at: float | None
) -> list[str]:
    """The workers that failed, with the end of their output; and a round out of time."""
    failed = [
        f"worker {i} exited with {run.exit_code} ({last_failure(child.log)})"
        for i, (child, (run, _)) in enumerate(zip(children, ended, strict=True))
        if run.exit_code != 0
    ]
    if cut_at is not None:
        failed.append(f"the round ran out of its {cut_at:g} s; its workers were stopped")
    return failed
