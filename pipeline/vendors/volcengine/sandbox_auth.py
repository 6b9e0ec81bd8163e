"""The twin's Volcengine HMAC-SHA256 check: the signing rules applied to the bytes received.

Checked in this order (the first failure answers): Authorization present and well formed, a
known AccessKeyId, X-Date present, well formed and within the validity period of the clock, the
credential scope, X-Content-Sha256 present and equal to the body's hash, the signed-header list
(host and x-date among them, each in the request), then the signature recomputed from the
received method, path, query, signed headers and body.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from aiohttp import web

from pipeline.sandbox.log import Refusal
from pipeline.signing import sha256_hex
from pipeline.vendors.volcengine import signer

DEFAULT_EXPIRES = 900
REQUIRED_SIGNED = frozenset({"host", "x-date"})
_AUTHORIZATION = re.compile(
    r"HMAC-SHA256 Credential=(?P<ak>[^/\s]+)/(?P<date>[^/\s]+)/(?P<region>[^/\s]+)"
    r"/(?P<service>[^/\s]+)/(?P<end>[^,\s]+), ?SignedHeaders=(?P<names>[^,\s]+)"
    r", ?Signature=(?P<signature>[0-9a-f]{64})"
)
_X_DATE = re.compile(r"\d{8}T\d{6}Z")


def authenticate(
    request: web.Request, body: bytes, credentials: Mapping[str, str], *, now: float
) -> str:
    """The caller's AccessKeyId once its signature over the received bytes checks out."""
    match = _parse_authorization(request.headers.get("Authorization", ""))
    secret = credentials.get(match["ak"])
    if secret is None:
        raise Refusal("InvalidAccessKey", "The AccessKeyId is invalid or does not exist.")
    date_time = _check_x_date(request, now)
    _check_scope(match, date_time)
    _check_body_hash(request.headers.get("X-Content-Sha256"), body)
    names = match["names"].split(";")
    if not REQUIRED_SIGNED <= set(names):
        raise Refusal("SignatureDoesNotMatch", "SignedHeaders must include host and x-date.")
    received = {name: request.headers.get(name) for name in names}
    missing = sorted(name for name, value in received.items() if value is None)
    if missing:
        raise Refusal(
            "SignatureDoesNotMatch", f"Signed header `{missing[0]}` is not in the request."
        )
    expected = signer.sign(
        access_key_id=match["ak"],
        secret_access_key=secret,
        date_time=date_time,
        query=request.query,
        signed_headers={name: str(value) for name, value in received.items()},
        body=body,
        method=request.method,
        path=request.path,
    )
    if not hmac.compare_digest(expected.signature, match["signature"]):
        raise Refusal(
            "SignatureDoesNotMatch", "The request signature we calculated does not match."
        )
    return match["ak"]


def claimed_id(authorization: str) -> str:
    """The AccessKeyId a request claims, for the log (the secret never leaves the twin)."""
    match = _AUTHORIZATION.fullmatch(authorization)
    return match["ak"] if match else ""


def _parse_authorization(header: str) -> re.Match[str]:
    if not header:
        raise Refusal("MissingRequestInfo", "The Authorization header is missing.")
    match = _AUTHORIZATION.fullmatch(header)
    if match is None:
        raise Refusal("SignatureDoesNotMatch", "The Authorization header is malformed.")
    return match


def _check_x_date(request: web.Request, now: float) -> str:
    """X-Date, once it is UTC `YYYYMMDDTHHMMSSZ` within X-Expires (900 s) of the clock."""
    raw = request.headers.get("X-Date")
    if not raw:
        raise Refusal("MissingRequestInfo", "The X-Date header is missing.")
    try:
        if not _X_DATE.fullmatch(raw):
            raise ValueError(raw)
        signed_at = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise Refusal("InvalidTimestamp", "X-Date must be UTC as YYYYMMDDTHHMMSSZ.") from None
    # Symmetric: the gateway refuses signatures "expired or dated in the future" alike.
    if abs(now - signed_at) > _expires(request.query.get("X-Expires")):
        raise Refusal("InvalidTimestamp", "The signature has expired or X-Date is in the future.")
    return raw


def _expires(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_EXPIRES
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise Refusal("InvalidTimestamp", "X-Expires must be a positive number of seconds.")
    return int(raw)


def _check_scope(match: re.Match[str], date_time: str) -> None:
    scope = (match["date"], match["region"], match["service"], match["end"])
    if scope != (date_time[:8], signer.REGION, signer.SERVICE, "request"):
        raise Refusal(
            "SignatureDoesNotMatch",
            f"The credential scope must be {date_time[:8]}/{signer.REGION}/{signer.SERVICE}"
            "/request.",
        )


def _check_body_hash(claimed: str | None, body: bytes) -> None:
    if claimed is None:
        raise Refusal("MissingRequestInfo", "The X-Content-Sha256 header is missing.")
    if claimed.strip().lower() != sha256_hex(body):
        raise Refusal("SignatureDoesNotMatch", "X-Content-Sha256 does not match the body.")
