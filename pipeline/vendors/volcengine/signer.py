"""Volcengine OpenAPI request signing: HMAC-SHA256, V4 style (checked against the SDK vectors)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from pipeline.signing import Signed, canonical_headers, hmac_sha256, sha256_hex

ALGORITHM = "HMAC-SHA256"
REGION = "cn-north-1"
SERVICE = "live"


def x_date(unix_time: float) -> str:
    """`YYYYMMDD'T'HHMMSS'Z'` in UTC (one doc page shows +08:00; that example is wrong)."""
    return datetime.fromtimestamp(int(unix_time), UTC).strftime("%Y%m%dT%H%M%SZ")


def canonical_query(query: Mapping[str, str]) -> str:
    """RFC 3986 percent-encoded `k=v` pairs sorted by key."""
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    k_date = hmac_sha256(secret_key.encode("utf-8"), date)
    k_region = hmac_sha256(k_date, region)
    k_service = hmac_sha256(k_region, service)
    return hmac_sha256(k_service, "request")


def sign(
    *,
    access_key_id: str,
    secret_access_key: str,
    date_time: str,
    query: Mapping[str, str],
    signed_headers: Mapping[str, str],
    body: bytes,
    method: str = "POST",
    path: str = "/",
    region: str = REGION,
    service: str = SERVICE,
) -> Signed:
    """Sign one request; `signed_headers` already hold X-Date and X-Content-Sha256."""
    header_lines, names = canonical_headers(signed_headers)
    request = "\n".join(
        [method, path, canonical_query(query), header_lines, names, sha256_hex(body)]
    )
    date = date_time[:8]
    scope = f"{date}/{region}/{service}/request"
    to_sign = f"{ALGORITHM}\n{date_time}\n{scope}\n{sha256_hex(request.encode('utf-8'))}"
    signature = hmac_sha256(signing_key(secret_access_key, date, region, service), to_sign).hex()
    authorization = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return Signed(request, to_sign, scope, signature, authorization)


def headers_to_sign(host: str, body: bytes, date_time: str, content_type: str) -> dict[str, str]:
    """The headers the SDKs sign: Host, Content-Type and every X- header."""
    return {
        "Host": host,
        "Content-Type": content_type,
        "X-Date": date_time,
        "X-Content-Sha256": sha256_hex(body),
    }
