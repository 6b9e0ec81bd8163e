"""The twin's TC3-HMAC-SHA256 check: Tencent's signing rules applied to the bytes received."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping

from aiohttp import web

from pipeline.sandbox.log import Refusal
from pipeline.vendors.tencent import signer

SERVICE = "live"
MAX_SKEW_SECONDS = 300
_REQUIRED_SIGNED = frozenset({"content-type", "host"})
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/(?P<end>[^,\s]+), ?SignedHeaders=(?P<names>[^,\s]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)


def authenticate(
    request: web.Request, body: bytes, credentials: Mapping[str, str], *, now: float
) -> str:
    """The caller's SecretId once its TC3 signature over the received bytes checks out."""
    match = _AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
    if match is None:
        raise Refusal("AuthFailure.InvalidAuthorization", "Authorization is malformed.")
    names = match["names"].split(";")
    if not _REQUIRED_SIGNED <= set(names):
        raise Refusal(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must include content-type and host.",
        )
    secret_key = credentials.get(match["id"])
    if secret_key is None:
        raise Refusal("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    timestamp = _timestamp(request.headers.get("X-TC-Timestamp"))
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise Refusal(
            "AuthFailure.SignatureExpire",
            "The signature has expired: X-TC-Timestamp is off by over 5 minutes.",
        )
    scope_ok = (match["date"], match["service"], match["end"]) == (
        signer.utc_date(timestamp),
        SERVICE,
        "tc3_request",
    )
    received = {name: request.headers.get(name) for name in names}
    if not scope_ok or any(value is None for value in received.values()):
        raise Refusal(
            "AuthFailure.SignatureFailure",
            "The credential scope or a signed header does not match the request.",
        )
    # Tencent lower-cases signed header values before building the canonical request.
    expected = signer.sign(
        secret_id=match["id"],
        secret_key=secret_key,
        service=SERVICE,
        timestamp=timestamp,
        signed_headers={name: str(value).lower() for name, value in received.items()},
        body=body,
        method=request.method,
        query=request.query_string,
    )
    if not hmac.compare_digest(expected.signature, match["signature"]):
        raise Refusal("AuthFailure.SignatureFailure", "The provided signature is invalid.")
    return match["id"]


def claimed_id(authorization: str) -> str:
    """The SecretId a request claims, for the log (the key itself never leaves the twin)."""
    match = _AUTHORIZATION.fullmatch(authorization)
    return match["id"] if match else ""


def _timestamp(raw: str | None) -> int:
    if raw is None:
        raise Refusal("MissingParameter", "The X-TC-Timestamp header is missing.")
    if not raw.isascii() or not raw.isdigit():
        raise Refusal("InvalidParameterValue", "X-TC-Timestamp must be Unix seconds.")
    return int(raw)
