"""Vendor bodies and records as the pipeline can safely hold them."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

# PostgreSQL's jsonb and text hold neither U+0000 nor a lone UTF-16 surrogate (it has no UTF-8
# form). U+FFFD, the replacement character, stands in for U+0000; a surrogate is kept as the text
# of its escape (`\ud800`, six characters), so two ids that differ only there stay two tasks.
STANDIN = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How a body may hold either: as an escape, as a NUL byte of a UTF-16 or -32 body, or as a
# UTF-8-encoded surrogate (json.loads decodes bytes with "surrogatepass"). \xed also leads Hangul.
_ESCAPE = re.compile(rb"\\u(?:0000|[dD])")
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
# Only an integer of 19 digits or more can lie outside signed 64 bits. The regex engine takes
# ~10 ns a byte to find such a run; mapping digits to NUL and searching for 19 NULs takes under 1.
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", bytes(10))
_LONG_DIGITS = bytes(19)
_INT64 = (-(2**63), 2**63 - 1)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object in `body`, or None for anything else (not JSON, not an object, too deep).

    What PostgreSQL or the hasher cannot take is replaced as it is read: NaN and infinities by
    their names as text, U+0000 by STANDIN, a lone surrogate by the text of its escape, integers
    beyond signed 64 bits by their digits as text. Every vendor record comes through here, so
    none needs a check of its own.
    """
    # The int hook is a Python call per integer: only a body that may need it pays for it. A
    # body without a long run of digits holds no integer it would change, so a record reads the
    # same whatever else is on its page (and a number in a string only costs a slower read).
    long_digits = _LONG_DIGITS in body.translate(_DIGITS_TO_NUL)
    parse_int = _int if long_digits else None
    try:
        decoded = json.loads(
            body, parse_constant=_NON_FINITE.__getitem__, parse_float=_float, parse_int=parse_int
        )
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(decoded, dict):
        return None
    return clean(decoded) if _may_hold_unstorable(body) else decoded


def clean(value: Any) -> Any:
    """`value` with U+0000 replaced by STANDIN and each lone surrogate by the text of its escape,
    in every key and string."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(_storable, value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


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


def _int(text: str) -> int | str:
    # Any 21 characters are at least 20 digits, out of range; and int() refuses 4,300 digits.
    if len(text) > 20:
        return text
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else text


def _storable(match: re.Match[str]) -> str:
    char = match.group()
    return STANDIN if char == "\x00" else f"\\u{ord(char):04x}"


def _may_hold_unstorable(body: bytes) -> bool:
    # One memchr each, so the usual body (no backslash, no \xed, no NUL) costs almost nothing.
    if b"\x00" in body:
        return True
    if b"\\" in body and _ESCAPE.search(body):
        return True
    return b"\xed" in body and _ENCODED_SURROGATE.search(body) is not None
