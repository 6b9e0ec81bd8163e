"""The twin's gateway: ZEGO's common query parameters and md5 signature, checked in order.

Each failure answers the specific code of ZEGO's shared gateway table ([GW] in
shared/vendors/zego.md section 6; the table itself lives in ZEGOCLOUD/docs_all,
`core_products/real-time-voice-video/zh/server/api-reference/return-codes.mdx`):

| check, in this order | code |
| --- | --- |
| `Action` missing / not served | 100000006 / 100000007 |
| `AppId` missing or not decimal digits / unknown (ServerSecret not found) | 100000001 / 100000010 |
| `Timestamp` missing / not 10 digits of Unix seconds | 100000002 / 100000003 |
| `Timestamp` more than 600 s away from the twin's clock | 100000004 |
| `SignatureNonce` / `Signature` / `SignatureVersion` missing | 100000008 / 100000009 / 100000013 |
| `SignatureVersion` other than `2.0` | 100000014 |
| signature mismatch | 100000005 |

A 13-digit (millisecond) `Timestamp` is malformed, not stale: trap 23. The signature is compared
exactly, so upper-case hex is refused (ZEGO documents lowercase).
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping

from pipeline.sandbox.log import Refusal
from pipeline.vendors.zego import signer

MAX_SKEW_SECONDS = 600
SIGNATURE_EXPIRED = 100000004
SIGNATURE_INVALID = 100000005


def refusal(code: int, message: str) -> Refusal:
    """A shared-log Refusal carrying ZEGO's numeric code (as text, like every twin's codes)."""
    return Refusal(str(code), message)


def check_gateway(
    query: Mapping[str, str],
    actions: Collection[str],
    credentials: Mapping[int, str],
    *,
    now: float,
) -> tuple[str, int]:
    """The action and the AppId of a request whose common parameters and signature check out."""
    action = _action(query, actions)
    app_id, secret = _app(query, credentials)
    timestamp = _timestamp(query.get("Timestamp", ""))
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise refusal(
            SIGNATURE_EXPIRED, "Signature expired: Timestamp is more than 10 minutes off."
        )
    required = (
        ("SignatureNonce", 100000008),
        ("Signature", 100000009),
        ("SignatureVersion", 100000013),
    )
    for name, code in required:
        if not query.get(name):
            raise refusal(code, f"{name} is empty.")
    if query["SignatureVersion"] != signer.SIGNATURE_VERSION:
        raise refusal(100000014, "Unsupported SignatureVersion: only 2.0 is supported.")
    expected = signer.signature(app_id, query["SignatureNonce"], secret, timestamp)
    if not hmac.compare_digest(expected, query["Signature"]):
        raise refusal(SIGNATURE_INVALID, "Signature error.")
    return action, app_id


def claimed_app_id(query: Mapping[str, str]) -> str:
    """The AppId a request claims, for the log (whether or not it checks out)."""
    return query.get("AppId", "")


def _action(query: Mapping[str, str], actions: Collection[str]) -> str:
    action = query.get("Action", "")
    if not action:
        raise refusal(100000006, "Action is empty.")
    if action not in actions:
        raise refusal(100000007, f"Unsupported Action `{action}`.")
    return action


def _app(query: Mapping[str, str], credentials: Mapping[int, str]) -> tuple[int, str]:
    raw = query.get("AppId", "")
    if not (raw.isascii() and raw.isdigit()):
        raise refusal(100000001, "AppId is malformed: a decimal integer is expected.")
    app_id = int(raw)
    secret = credentials.get(app_id)
    if secret is None:
        raise refusal(100000010, "Failed to get the ServerSecret: check the AppId.")
    return app_id, secret


def _timestamp(raw: str) -> int:
    if not raw:
        raise refusal(100000002, "Timestamp is empty.")
    if not (raw.isascii() and raw.isdigit() and len(raw) == 10):
        raise refusal(100000003, "Timestamp is malformed: Unix time in seconds is expected.")
    return int(raw)
