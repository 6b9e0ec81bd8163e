"""TC3-HMAC-SHA256, Tencent Cloud API 3.0 request signing (checked against the SDK's vectors)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class Signed:
    """The intermediate values and result of one signature, kept for tests and the sandbox."""

    canonical_request: str
    string_to_sign: str
    credential_scope: str
    signature: str
    authorization: str


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_date(timestamp: int) -> str:
    """The credential date: the UTC calendar date (Beijing time breaks 00:00-08:00)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    return _hmac(k_service, "tc3_request")


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> tuple[str, str]:
    """The canonical request and the signed-headers list, over exactly the headers given."""
    items = sorted((name.lower(), value.strip()) for name, value in headers.items())
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in items)
    signed_headers = ";".join(name for name, _ in items)
    lines = [method, path, query, canonical_headers, signed_headers, sha256_hex(body)]
    return "\n".join(lines), signed_headers


def sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    signed_headers: Mapping[str, str],
    body: bytes,
    method: str = "POST",
    path: str = "/",
    query: str = "",
) -> Signed:
    """Sign one request; `signed_headers` are the headers to sign with the values sent."""
    request, header_names = canonical_request(method, path, query, signed_headers, body)
    date = utc_date(timestamp)
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{sha256_hex(request.encode('utf-8'))}"
    signature = hmac.new(
        signing_key(secret_key, date, service), to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={header_names}, Signature={signature}"
    )
    return Signed(request, to_sign, scope, signature, authorization)
