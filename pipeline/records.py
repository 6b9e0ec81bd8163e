"""Bounds every record meets before it is stored, whatever its vendor, and rejections kept storable.

A task that breaks a bound becomes a `Rejection` naming the field, so one record never fails the
window it is read in. A rejection is stored whatever it holds: its raw payload is cleaned, or
replaced by a marker holding the head of its text (`storable_raw`), its task id and reason cut.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import orjson

from pipeline.model import Normalized, Rejection
from pipeline.payloads import clean, json_bytes

MAX_TASK_ID_CHARS = 512
"""Ids seen are under 100 characters; 512 (at most 2 KiB in UTF-8) fit a btree row (~2.7 KB)."""
MAX_RAW_BYTES = 1 << 20
"""1 MiB of compact JSON: the vendors' records are under 2 KiB; more is a vendor's mistake."""
HEAD_BYTES = 64 << 10
"""How much of a raw payload too large (or too odd) to store is kept in its marker."""
MAX_REASON_CHARS = 4096
"""A reason is a line per field; a longer one quotes a vendor's value, which raw keeps anyway."""


def bounded(item: Normalized, raw: Any) -> Normalized:
    """`item`, or a rejection of the vendor record `raw` naming the bound its task breaks."""
    if isinstance(item, Rejection):
        # Its raw keeps the whole id; the id itself is cut for the log and the table.
        long_id = item.task_id is not None and len(item.task_id) > MAX_TASK_ID_CHARS
        return replace(item, task_id=item.task_id[:MAX_TASK_ID_CHARS]) if long_id else item
    if len(item.task_id) > MAX_TASK_ID_CHARS:
        reason = f"task_id: {len(item.task_id)} characters, more than {MAX_TASK_ID_CHARS}"
        return Rejection(reason, raw, item.task_id[:MAX_TASK_ID_CHARS])
    # Measured: orjson writes a vendor record in 0.2-0.5 us, 1-2% of what the pipeline spends
    # on it, and less than a Python loop over its values looking for long strings takes.
    try:
        size = len(orjson.dumps(raw))
    except TypeError:  # orjson's range is narrower; this is what staging will do
        try:
            size = len(json_bytes(raw))
        except (ValueError, UnicodeError) as exc:
            reason = f"raw: cannot be written as JSON ({type(exc).__name__})"
            return Rejection(reason, raw, item.task_id)
    if size > MAX_RAW_BYTES:
        reason = f"raw: {size} bytes as JSON, more than {MAX_RAW_BYTES}"
        return Rejection(reason, raw, item.task_id)
    return item


def storable_raw(raw: Any) -> str:
    """`raw` as JSON text a jsonb column takes, or a marker holding the head of its text.

    The marker, `{"truncated": true, "bytes": N, "head": "..."}`, stands in for a payload over
    MAX_RAW_BYTES, and for one JSON cannot write (its head is then Python's repr of it).
    """
    try:
        text = json.dumps(clean(raw), ensure_ascii=False, allow_nan=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        return _marker(_repr(raw))
    # A character is at most 4 bytes in UTF-8: only a long text needs encoding to be measured.
    return text if len(text) <= MAX_RAW_BYTES // 4 else _bounded_text(text)


def storable_text(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters, what a text column refuses replaced."""
    return None if text is None else clean(text[:limit])


def _bounded_text(text: str) -> str:
    """`text`, or its marker when it is over MAX_RAW_BYTES in UTF-8."""
    return text if len(text.encode()) <= MAX_RAW_BYTES else _marker(text)


def _marker(text: str) -> str:
    data = text.encode()
    # A cut through a character drops that character rather than leave invalid UTF-8.
    head = data[:HEAD_BYTES].decode(errors="ignore")
    return json.dumps({"truncated": True, "bytes": len(data), "head": head}, ensure_ascii=False)


def _repr(raw: Any) -> str:
    try:
        return clean(repr(raw))
    except (ValueError, RecursionError):  # a 5,000-digit int, a record nested too deep
        return f"<{type(raw).__name__} that cannot be written>"
