"""Vendor bodies and records as the pipeline can safely hold them."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# PostgreSQL's jsonb and text cannot hold U+0000; this stands in for it.
NUL_STANDIN = "\ufffd"


def json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object in `body`, or None for anything else (not JSON, not an object, too deep)."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def json_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON: orjson's speed, the standard library's range.

    orjson refuses integers beyond 64 bits, which vendors' JSON may hold; those take the slow path.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def storable(value: Any) -> Any:
    """`value` with what PostgreSQL cannot store replaced: U+0000, NaN and infinities.

    Returns `value` itself when nothing needs replacing, which is nearly always.
    """
    return _clean(value) if _unstorable(value) else value


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", NUL_STANDIN)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": kept as text rather than lost
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
