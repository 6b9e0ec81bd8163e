"""`pipeline status`: per source its last success, last sync and the shard that ran it,
coverage, gaps, rejects, retention risk and whether it is overdue.

Every worker records its runs in the one database, so this is the view of a whole round, whatever
shard synced each source. Exits 1 while a gap exists, data is at risk, a source is overdue (no
worker synced it for longer than the schedule allows: a missing shard) or a source's last run of
it failed, so a monitor can alert on it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pipeline.config import DatabaseConfig, ScheduleSettings, Settings, selected_apis
from pipeline.db.overview import Overview, read_overview
from pipeline.db.sqlfiles import query
from pipeline.model import SourceKey
from pipeline.periods import Period
from pipeline.planning.windows import WindowRules
from pipeline.vendors import VENDORS

RECENT_RUNS = 5
WHOLE_ACCOUNT = "the whole account"
# Warn once less than a third of a vendor's reach is left: for ZEGO's 3 days, after 2 days.
RISK_SHARE = 2 / 3


@dataclass(slots=True)
class SourceStatus:
    """What `status` knows of one account and API."""

    vendor: str
    account: str
    api: str
    last_success: datetime | None = None
    last_sync: datetime | None = None
    """When a sync of it last succeeded, by any worker."""
    synced_by: str | None = None
    """The shard of that sync's worker ("1/4"), or "every source" (an unsharded run)."""
    last_failure: datetime | None = None
    last_error: str | None = None
    complete: list[Period | str] = field(default_factory=list)
    gaps: list[Period] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    """Tasks last seen unfinished when they fell out of reach: their ends are lost."""
    rejected: int = 0
    at_risk: str | None = None
    overdue: str | None = None

    @property
    def failing(self) -> bool:
        """The source's last run of it failed (a success since clears it)."""
        last = self.last_failure
        return last is not None and (self.last_success is None or last > self.last_success)

    @property
    def healthy(self) -> bool:
        return (
            not self.gaps
            and not self.unfinished
            and self.at_risk is None
            and self.overdue is None
            and not self.failing
        )


def retention_risk(
    rules: WindowRules | None, last_success: datetime | None, now: datetime
) -> str | None:
    """Why data of this source may fall out of the vendor's reach before a run saves it."""
    if rules is None:
        return None  # the vendor keeps these until they are deleted
    if last_success is None:
        return "no successful run yet: the vendor keeps these tasks for a limited time only"
    if now - last_success < rules.reach_back * RISK_SHARE:
        return None
    deadline = last_success + rules.reach_back
    verb = "fell" if deadline <= now else "fall"
    return (
        f"last success {_age(now - last_success)} ago: tasks that started since then {verb} out "
        f"of the vendor's {_age(rules.reach_back)} reach from {_when(deadline)}; run a sync now"
    )


def overdue(schedule: ScheduleSettings, last_sync: datetime | None, now: datetime) -> str | None:
    """Why no worker's sync of this source is as recent as the schedule promises, or None."""
    allowed = schedule.overdue_after
    if last_sync is None:
        return "never synced by any worker: is a shard or schedule missing?"
    if now - last_sync <= allowed:
        return None
    return (
        f"no worker synced it for {_age(now - last_sync)}; the schedule allows {_age(allowed)} "
        f"(sync every {schedule.sync_every_minutes:g} min, {schedule.missed_runs_allowed} missed): "
        "is a shard or schedule missing?"
    )


def _shard(index: int | None, count: int | None) -> str:
    return "every source" if count is None else f"shard {index}/{count}"


def _age(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _rules(key: SourceKey) -> WindowRules | None:
    vendor = VENDORS.get(key.vendor)
    source = vendor.sources.get(key.api) if vendor else None
    return source.rules if source else None


def _configured(settings: Settings | DatabaseConfig | None) -> list[SourceKey]:
    return [
        SourceKey(account.vendor, account.name, api)
        for account in (settings.accounts if settings else ())
        for api in selected_apis(account)
    ]


def _scheduled(key: SourceKey, configured: set[SourceKey]) -> bool:
    """Whether some worker should be syncing `key`: a source the config names, or any source
    when status runs without accounts (a source removed from the config is not overdue)."""
    return not configured or key in configured


async def collect(
    pool: asyncpg.Pool, settings: Settings | DatabaseConfig | None, now: datetime
) -> list[SourceStatus]:
    """The status of every source the database or the config knows of (by account name: no
    credential is needed)."""
    schedule = settings.schedule if settings else ScheduleSettings()
    async with pool.acquire() as conn:
        overview = await read_overview(conn)
    configured = _configured(settings)
    expected = set(configured)
    keys = [*overview.runs, *(k for k in configured if k not in overview.runs)]
    return [
        _status(key, overview, now, schedule if _scheduled(key, expected) else None) for key in keys
    ]


def _status(
    key: SourceKey, overview: Overview, now: datetime, schedule: ScheduleSettings | None
) -> SourceStatus:
    """One source's status; `schedule` is None when no worker is meant to sync it."""
    status = SourceStatus(key.vendor, key.account, key.api)
    if (row := overview.runs.get(key)) is not None:
        status.last_success, status.last_failure = row["last_success"], row["last_failure"]
        status.last_sync = row["last_sync"]
        if status.last_sync is not None:
            status.synced_by = _shard(row["shard_index"], row["shard_count"])
        if row["error_code"]:
            status.last_error = f"{row['error_code']}: {row['error_message']}"
        status.rejected = row["rejected"]
    status.complete = [p or WHOLE_ACCOUNT for p in overview.complete.get(key, [])]
    status.unfinished = overview.unfinished.get(key, [])
    status.gaps = overview.gaps.get(key, [])
    status.at_risk = retention_risk(_rules(key), status.last_success, now)
    if schedule is not None:
        status.overdue = overdue(schedule, status.last_sync, now)
    return status


async def recent_runs(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(query("recent_runs"), RECENT_RUNS)]


def render_table(sources: list[SourceStatus], runs: list[dict[str, Any]]) -> str:
    lines = []
    for s in sources:
        lines.append(f"{s.vendor} / {s.account} / {s.api}  [{'ok' if s.healthy else 'ATTENTION'}]")
        lines.append(f"  last success  {_when(s.last_success)}")
        synced = f"  by {s.synced_by}" if s.synced_by else ""
        lines.append(f"  last sync     {_when(s.last_sync)}{synced}")
        if s.last_error:
            lines.append(f"  last failure  {_when(s.last_failure)}  {s.last_error}")
        lines.append(f"  complete      {', '.join(map(str, s.complete)) or 'nothing yet'}")
        lines.append(f"  gaps          {', '.join(map(str, s.gaps)) or 'none'}")
        lines += [f"  lost end      {reason}" for reason in s.unfinished]
        lines.append(f"  rejected      {s.rejected}")
        if s.at_risk:
            lines.append(f"  AT RISK       {s.at_risk}")
        if s.overdue:
            lines.append(f"  OVERDUE       {s.overdue}")
    lines += ["", "recent runs"]
    for r in runs:
        lines.append(
            f"  {_when(r['started_at'])}  {r['command']:<9} {r['outcome']:<12} {r['run_id']}"
            f"  {_shard(r['shard_index'], r['shard_count'])}"
        )
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool | None) else str(value)


async def show_status(
    pool: asyncpg.Pool, settings: Settings | DatabaseConfig | None, *, as_json: bool, now: datetime
) -> int:
    """Print the status; 1 while any source has a gap, data at risk or a failure, else 0."""
    sources = await collect(pool, settings, now)
    runs = await recent_runs(pool)
    if as_json:
        documents = [{**asdict(s), "healthy": s.healthy} for s in sources]
        print(
            json.dumps(_plain({"generated_at": now, "sources": documents, "runs": runs}), indent=2)
        )
    else:
        print(render_table(sources, runs))
    return 0 if all(s.healthy for s in sources) else 1
