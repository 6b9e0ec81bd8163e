"""Database URLs and key/value DSNs: the password inside one, and the DSN with it masked."""

from __future__ import annotations

import re

KV_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)")
"""`password=...` in a key/value DSN (quoted or not)."""


def dsn_password(dsn: str) -> str | None:
    """The password in a URL or key/value DSN, as written."""
    span = _url_password_span(dsn)
    if span:
        return dsn[span[0] : span[1]] or None
    match = KV_PASSWORD.search(dsn)
    if not match:
        return None
    value = match.group(2)
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value or None


def redact_dsn(dsn: str) -> str:
    """`dsn` with its password, in URL or `password=` form, replaced by `***`."""
    span = _url_password_span(dsn)
    if span:
        dsn = f"{dsn[: span[0]]}***{dsn[span[1] :]}"
    return KV_PASSWORD.sub(r"\1***", dsn)


def _url_password_span(dsn: str) -> tuple[int, int] | None:
    # The password runs to the last `@`, so one written with a raw `@` is still covered.
    start = dsn.find("://") + 3
    first_at, last_at = dsn.find("@", start), dsn.rfind("@", start)
    colon = dsn.find(":", start, max(first_at, 0))
    if start < 3 or first_at < 0 or colon < 0:
        return None
    return colon + 1, last_at
