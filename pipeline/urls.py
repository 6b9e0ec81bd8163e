"""Vendor URLs: which endpoints may be called, and how a URL may appear in a message.

A signed request carries its credentials in its URL (ZEGO signs the query string, and its
signature covers neither the action nor the body) or in its headers, so messages name a host,
never a URL: `host_of` for the messages built here, `scrub` as the last defence where error
text is stored.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urljoin, urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
MASK = "***"
_URL = re.compile(r"""\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^\s'"<>]*)""")
# A query string whose URL lost its scheme (a host and path quoted without it).
_BARE_QUERY = re.compile(r"""(?<=[^\s'"<>])\?[^\s'"<>=]*=[^\s'"<>]*""")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name, or an IP literal without brackets) is this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problem(url: str) -> str | None:
    """Why `url` cannot be a vendor endpoint, or None: https://, or http:// on loopback only."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL with a host"
    if parts.username is not None or parts.query or parts.fragment or "?" in url or "#" in url:
        return "must be a base URL, without user, password, query or fragment"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"must be https:// ({parts.hostname} is not a loopback host; http:// is allowed "
            "only on 127.0.0.0/8, ::1 and localhost, for the sandboxes)"
        )
    return None


def host_of(url: str, base: str | None = None) -> str:
    """The host and port of `url` (resolved against `base`), for messages: nothing else of it."""
    try:
        parts = urlsplit(urljoin(base, url) if base else url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host:
        return "an invalid URL"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def scrub(text: str) -> str:
    """`text` with the user, password, query and fragment of every URL in it masked."""
    return _BARE_QUERY.sub(f"?{MASK}", _URL.sub(_bare_url, text))


def _bare_url(match: re.Match[str]) -> str:
    scheme, rest = match.groups()
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, slash, path = rest[:cut].partition("/")
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    return f"{scheme}{authority}{slash}{path}{f'?{MASK}' if cut < len(rest) else ''}"
