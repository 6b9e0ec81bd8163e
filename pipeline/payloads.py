"""Vendor bodies and records as the pipeline can safely hold them."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# PostgreSQL's jsonb and text cannot hold U+0000; this stands in for it.
NUL_STANDIN = "\ufffd"


def json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object in `body`, or None for anything else (not JSON, not an object, too deep).

    What PostgreSQL cannot store is replaced as it is read: NaN and infinities by their names as
    text, U+0000 by NUL_STANDIN. Every vendor record comes through here, so none needs a check
    of its own.
    """
    try:
        decoded = json.loads(body, parse_constant=_NON_FINITE.__getitem__, parse_float=_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(decoded, dict):
        return None
    # JSON holds U+0000 only as an escape (or as a NUL byte of a UTF-16 or -32 body).
    return _clean(decoded) if b"\\u0000" in body or b"\x00" in body else decoded


def json_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON: orjson's speed, the standard library's range.

    orjson refuses integers beyond 64 bits, which vendors' JSON may hold; those take the slow path.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


# What json.loads meets beyond the finite floats, as text ("nan", "inf", "-inf", as str() does).
_NON_FINITE = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}


def _float(text: str) -> float | str:
    value = float(text)  # 1e400 is read as infinity
    return value if math.isfinite(value) else str(value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", NUL_STANDIN)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
