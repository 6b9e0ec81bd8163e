"""ZEGO server API signing, SignatureVersion 2.0: md5 over AppId, nonce, secret and seconds.

`Signature = md5_hex(str(AppId) + SignatureNonce + ServerSecret + str(Timestamp))`, lowercase,
no separators. Only these four values are signed: the action, host and JSON body are not (so
re-serializing the body cannot break it). `Timestamp` is Unix seconds, while DescribeTasks'
body times are milliseconds (trap 23). Facts: shared/vendors/zego.md section 5.
"""

from __future__ import annotations

import hashlib
import secrets

SIGNATURE_VERSION = "2.0"


def signature(app_id: int, nonce: str, server_secret: str, timestamp: int) -> str:
    """The 32 lowercase hex characters ZEGO expects in the `Signature` query parameter."""
    material = f"{app_id}{nonce}{server_secret}{timestamp}"
    # md5 is what ZEGO's gateway specifies, not our choice of hash.
    return hashlib.md5(material.encode("utf-8"), usedforsecurity=False).hexdigest()


def new_nonce() -> str:
    """A fresh `SignatureNonce`: 8 random bytes as 16 lowercase hex characters, one per request."""
    return secrets.token_hex(8)


def auth_query(app_id: int, server_secret: str, timestamp: int, nonce: str) -> dict[str, str]:
    """The common query parameters that authenticate one request (add `Action` beside them)."""
    return {
        "AppId": str(app_id),
        "SignatureNonce": nonce,
        "Timestamp": str(timestamp),
        "Signature": signature(app_id, nonce, server_secret, timestamp),
        "SignatureVersion": SIGNATURE_VERSION,
    }
