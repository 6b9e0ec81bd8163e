"""Migration 006's data step: vendor credentials out of what earlier releases stored.

Earlier releases stored records as served. This step redacts them as the loader now does,
with each vendor API's declared `Redaction` (an account's own additions are not known here):
`tasks.raw` and the text columns taken from it (`content_hash` is nulled, so the next read of a
task rewrites it without a history row), `task_history.changes`, `rejected_records.raw` and
`reason`, and `deferred_reads`. Rows go in batches, each locked, rewritten and committed on
its own, found by key from where the last ended; only rows that change are written. Running it
again changes nothing (a digest is kept as it is), so a run cut short is finished by the next.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import asyncpg
import structlog

from pipeline.db.migrate import DATA_STEP
from pipeline.db.sqlfiles import query
from pipeline.errors import ConfigError
from pipeline.redaction import CREDENTIAL_ENDINGS, KEY_ENV, Redaction, Redactor
from pipeline.vendors import VENDORS

log = structlog.get_logger(__name__)

BATCH = 5_000
DERIVED = ("domain", "app", "stream", "room_id", "vendor_status")
_PROBE_KEY = b"no key: only finds what would change"


def _declared(vendor: str, api: str) -> Redaction:
    source = VENDORS[vendor].sources.get(api) if vendor in VENDORS else None
    return source.redaction if source is not None else Redaction()


@cache
def _marks() -> str:
    """What a row holding a credential must contain somewhere in its text (regex, any case)."""
    names = {"=", "://", *CREDENTIAL_ENDINGS}
    for vendor in VENDORS.values():
        for source in vendor.sources.values():
            for path in source.redaction.fields:
                names.update(path.split("."))
            names.update(source.redaction.parameters)
    return "|".join(re.escape(name) for name in sorted(names))


class _Scrubber:
    """One redactor per vendor API."""

    def __init__(self, key: bytes | None) -> None:
        # Without a key the step only looks: a database with nothing to replace needs none.
        self._key = key
        self._redactors: dict[tuple[str, str], Redactor] = {}

    def redactor(self, vendor: str, api: str) -> Redactor:
        found = self._redactors.get((vendor, api))
        if found is None:
            found = Redactor(self._key or _PROBE_KEY, _declared(vendor, api))
            self._redactors[(vendor, api)] = found
        return found

    def needs_key(self, table: str) -> None:
        if self._key is None:
            raise ConfigError(
                f"{table} holds vendor credentials stored by an earlier release; migration "
                f"{DATA_STEP} replaces them with keyed digests and needs the redaction key: set "
                f"{KEY_ENV} (at least 16 characters, e.g. `openssl rand -hex 32`) and run "
                "`pipeline migrate` again"
            )


async def scrub_stored_records(conn: asyncpg.Connection, key: bytes | None) -> None:
    """Redact every stored record; ConfigError if one needs it and `key` is None."""
    scrubber = _Scrubber(key)
    for table, step in (
        ("tasks", _tasks),
        ("task_history", _history),
        ("rejected_records", _rejected),
        ("deferred_reads", _deferred),
    ):
        examined = changed = 0
        last: Any = None
        while True:
            async with conn.transaction():
                await conn.execute(query("scrub_search_path"))
                read, written, last = await step(conn, scrubber, last)
            examined, changed = examined + read, changed + written
            if read < BATCH:
                break
        log.info("migrate.scrubbed", table=table, examined=examined, changed=changed)


def _differs(new: Any, old: Any) -> bool:
    return new is not old and new != old


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _task_row(scrubber: _Scrubber, row: asyncpg.Record, table: str) -> list[str | None] | None:
    """A task row's raw (as text) and derived columns, redacted; None when nothing changes."""
    redactor = scrubber.redactor(row["vendor"], row["api"])
    raw = json.loads(row["raw"])
    new_raw, (columns, moved) = redactor.record(raw), _columns(redactor, row)
    if not (moved or _differs(new_raw, raw)):
        return None
    scrubber.needs_key(table)
    return [_text(new_raw), *columns]


def _columns(redactor: Redactor, row: asyncpg.Record) -> tuple[list[str | None], bool]:
    """The text columns taken from raw, redacted, and whether any changed."""
    stored = [row[name] for name in DERIVED]
    redacted = [None if value is None else redactor.text(value) for value in stored]
    return redacted, redacted != stored


async def _tasks(conn: asyncpg.Connection, scrubber: _Scrubber, last: Any) -> tuple[int, int, Any]:
    key = last or ("", "", "", "")
    rows = await conn.fetch(query("scrub_tasks_batch"), *key, BATCH, _marks())
    updates = []
    for row in rows:
        if (redacted := _task_row(scrubber, row, "tasks")) is not None:
            updates.append((*tuple(row)[:4], *redacted))
    if updates:
        await conn.execute(query("scrub_tasks_update"), *map(list, zip(*updates, strict=True)))
    end = tuple(rows[-1])[:4] if rows else key
    return len(rows), len(updates), end


async def _history(
    conn: asyncpg.Connection, scrubber: _Scrubber, last: Any
) -> tuple[int, int, Any]:
    rows = await conn.fetch(query("scrub_history_batch"), last or 0, BATCH, _marks())
    ids, texts = [], []
    for row in rows:
        changes = json.loads(row["changes"])
        new = _changes(scrubber.redactor(row["vendor"], row["api"]), changes)
        if new != changes:
            scrubber.needs_key("task_history")
            ids.append(row["id"])
            texts.append(_text(new))
    if ids:
        await conn.execute(query("scrub_history_update"), ids, texts)
    return len(rows), len(ids), rows[-1]["id"] if rows else last


def _changes(redactor: Redactor, changes: Any) -> Any:
    """`{"raw.Field": [old, new], "column": [old, new]}`, each value redacted as its field's."""
    if not isinstance(changes, dict):
        return redactor.record(changes)
    redacted = {}
    for name, values in changes.items():
        field = name.removeprefix("raw.")
        if isinstance(values, list):
            redacted[name] = [redactor.record({field: value})[field] for value in values]
        else:
            redacted[name] = redactor.record({field: values})[field]
    return redacted


async def _rejected(
    conn: asyncpg.Connection, scrubber: _Scrubber, last: Any
) -> tuple[int, int, Any]:
    rows = await conn.fetch(query("scrub_rejected_batch"), last or 0, BATCH, _marks())
    updates = []
    for row in rows:
        redactor = scrubber.redactor(row["vendor"], row["api"])
        raw = json.loads(row["raw"])
        new_raw, reason = redactor.record(raw), redactor.text(row["reason"])
        if reason != row["reason"] or _differs(new_raw, raw):
            scrubber.needs_key("rejected_records")
            updates.append((row["id"], _text(new_raw), reason))
    if updates:
        await conn.execute(query("scrub_rejected_update"), *map(list, zip(*updates, strict=True)))
    return len(rows), len(updates), rows[-1]["id"] if rows else last


async def _deferred(
    conn: asyncpg.Connection, scrubber: _Scrubber, last: Any
) -> tuple[int, int, Any]:
    rows = await conn.fetch(query("scrub_deferred_batch"), last or (0, 0), BATCH, _marks())
    updates = []
    for row in rows:
        if (redacted := _task_row(scrubber, row, "deferred_reads")) is not None:
            updates.append((row["ctid"], *redacted))
    if updates:
        await conn.execute(query("scrub_deferred_update"), *map(list, zip(*updates, strict=True)))
    return len(rows), len(updates), rows[-1]["ctid"] if rows else last
