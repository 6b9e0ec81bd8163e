"""What the vendors' V4-style request signers share: HMAC-SHA256 primitives and their result."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Signed:
    """The intermediate values and result of one signature, kept for tests and the sandbox."""

    canonical_request: str
    string_to_sign: str
    credential_scope: str
    signature: str
    authorization: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """`name:value\\n` lines for the given headers, sorted by lower-cased name, and their names."""
    items = sorted((name.lower(), value.strip()) for name, value in headers.items())
    lines = "".join(f"{name}:{value}\n" for name, value in items)
    return lines, ";".join(name for name, _ in items)
