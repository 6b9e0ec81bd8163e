"""What a scale round must have done, read back from its scratch database: every source run
once, by the worker its shard names, successfully, and every task of its twin stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from benchmarks.database import sql
from benchmarks.scale_accounts import ScaleAccount, shard_of_source


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One source of one worker's run, as `sync_run_sources` recorded it."""

    shard_index: int | None
    account: str
    api: str
    outcome: str
    tasks_seen: int
    error: str | None

    @property
    def source(self) -> str:
        return f"{self.account}/{self.api}"


async def _fetch(database: str, name: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database)
    try:
        return await conn.fetch(sql(name), *args)
    finally:
        await conn.close()


async def source_rows(database: str, command: str) -> list[SourceRow]:
    """Every source of the runs of `command` in `database`."""
    rows = await _fetch(database, "scale_sources", command)
    return [
        SourceRow(
            r["shard_index"],
            r["account"],
            r["api"],
            r["outcome"],
            r["tasks_seen"],
            f"{r['error_code']}: {r['error_message']}" if r["error_code"] else None,
        )
        for r in rows
    ]


async def stored_tasks(database: str) -> dict[str, int]:
    """Tasks stored per source (`account/api`)."""
    rows = await _fetch(database, "scale_stored")
    return {f"{r['account']}/{r['api']}": r["tasks"] for r in rows}


def problems_of(
    accounts: Sequence[ScaleAccount],
    rows: Sequence[SourceRow],
    stored: dict[str, int],
    expected: dict[str, int] | None,
    count: int,
) -> list[str]:
    """Everything the round got wrong, as sentences; empty when it did all it should."""
    runs = Counter(row.source for row in rows)
    known = {account.source for account in accounts}
    problems = [f"{source}: not configured, yet run" for source in sorted(set(runs) - known)]
    for account in accounts:
        wrong = _source_problems(account, rows, runs[account.source], count)
        problems += wrong
        # A source that failed stored what it stored: its failure says enough.
        if not wrong and expected and stored.get(account.source, 0) != expected[account.source]:
            problems.append(
                f"{account.source}: {stored.get(account.source, 0)} tasks stored, "
                f"its twin holds {expected[account.source]}"
            )
    return problems


def _source_problems(
    account: ScaleAccount, rows: Sequence[SourceRow], runs: int, count: int
) -> list[str]:
    if runs != 1:
        return [f"{account.source}: run {runs} times in the round, not once"]
    [row] = [row for row in rows if row.source == account.source]
    problems = []
    if row.outcome != "succeeded":
        problems.append(f"{account.source}: {row.outcome} ({row.error})")
    shard = shard_of_source(account, count)
    if count > 1 and row.shard_index != shard:
        problems.append(f"{account.source}: run by shard {row.shard_index}, its hash names {shard}")
    return problems
