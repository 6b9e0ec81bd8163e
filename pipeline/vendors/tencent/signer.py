"""TC3-HMAC-SHA256, Tencent Cloud API 3.0 request signing (checked against the SDK's vectors)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pipeline.signing import Signed, canonical_headers, hmac_sha256, sha256_hex

ALGORITHM = "TC3-HMAC-SHA256"


def utc_date(timestamp: int) -> str:
    """The credential date: the UTC calendar date (Beijing time breaks 00:00-08:00)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    k_date = hmac_sha256(("TC3" + secret_key).encode("utf-8"), date)
    k_service = hmac_sha256(k_date, service)
    return hmac_sha256(k_service, "tc3_request")


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> tuple[str, str]:
    """The canonical request and the signed-headers list, over exactly the headers given."""
    header_lines, signed_headers = canonical_headers(headers)
    lines = [method, path, query, header_lines, signed_headers, sha256_hex(body)]
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
    signature = hmac_sha256(signing_key(secret_key, date, service), to_sign).hex()
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={header_names}, Signature={signature}"
    )
    return Signed(request, to_sign, scope, signature, authorization)
