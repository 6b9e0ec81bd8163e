"""`pipeline status`: recent runs, and per source its last success, coverage and gaps."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from pipeline.config import Settings, selected_apis
from pipeline.db.loader import SourceKey
from pipeline.db.sqlfiles import query
from pipeline.periods import Period

RECENT_RUNS = 5


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


WHOLE_ACCOUNT = "the whole account"


async def _periods(conn: asyncpg.Connection, name: str, key: SourceKey) -> list[Period | str]:
    rows = await conn.fetch(query(name), key.vendor, key.account, key.api)
    # An unbounded range is a complete listing of an API that has no time window.
    return [
        Period(r["start_at"], r["end_at"]) if r["start_at"] and r["end_at"] else WHOLE_ACCOUNT
        for r in rows
    ]


async def collect(pool: asyncpg.Pool, settings: Settings | None) -> dict[str, Any]:
    """Everything `status` shows, as plain data."""
    async with pool.acquire() as conn:
        rows = {
            SourceKey(r["vendor"], r["account"], r["api"]): r
            for r in await conn.fetch(query("status_sources"))
        }
        keys = list(rows)
        for account in settings.accounts if settings else ():
            keys += [
                k
                for api in selected_apis(account)
                if (k := SourceKey(account.vendor, account.name, api)) not in rows
            ]
        sources = []
        for key in keys:
            row = rows.get(key)
            sources.append(
                {
                    "vendor": key.vendor,
                    "account": key.account,
                    "api": key.api,
                    "last_success": row["last_success"] if row else None,
                    "last_failure": row["last_failure"] if row else None,
                    "last_error": f"{row['error_code']}: {row['error_message']}"
                    if row and row["error_code"]
                    else None,
                    "covered": await _periods(conn, "covered_periods", key),
                    "gaps": await _periods(conn, "recorded_gaps", key),
                    "rejected": row["rejected"] if row else 0,
                }
            )
        runs = [dict(r) for r in await conn.fetch(query("recent_runs"), RECENT_RUNS)]
    return {"sources": sources, "runs": runs}


def render_table(data: dict[str, Any]) -> str:
    lines = []
    for s in data["sources"]:
        lines.append(f"{s['vendor']} / {s['account']} / {s['api']}")
        lines.append(f"  last success  {_when(s['last_success'])}")
        if s["last_error"]:
            lines.append(f"  last failure  {_when(s['last_failure'])}  {s['last_error']}")
        covered = ", ".join(str(p) for p in s["covered"]) or "nothing yet"
        lines.append(f"  complete      {covered}")
        lines.append(f"  gaps          {', '.join(str(p) for p in s['gaps']) or 'none'}")
        lines.append(f"  rejected      {s['rejected']}")
    lines.append("")
    lines.append("recent runs")
    for r in data["runs"]:
        lines.append(
            f"  {_when(r['started_at'])}  {r['command']:<9} {r['outcome']:<12} {r['run_id']}"
        )
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Period):
        return {"start": value.start.isoformat(), "end": value.end.isoformat()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


async def show_status(
    pool: asyncpg.Pool, settings: Settings | None, *, as_json: bool, now: datetime
) -> int:
    data = await collect(pool, settings)
    if as_json:
        print(json.dumps(_plain({"generated_at": now, **data}), indent=2))
    else:
        print(render_table(data))
    return 0
