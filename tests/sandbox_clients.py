"""Calls to the Tencent twin signed the way Tencent's SDK signs them, for the twin's own tests."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from pipeline.vendors.tencent.signer import sign

SECRET_ID, SECRET_KEY = "AKIDSANDBOX", "secretSANDBOX"


def tencent_request(
    url: str,
    params: dict[str, Any],
    *,
    action: str,
    timestamp: int,
    secret_id: str = SECRET_ID,
    region: str = "ap-guangzhou",
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and body of an `action` call, TC3-signed; `headers` replace the signed ones."""
    body = json.dumps(params).encode("utf-8")
    host = url.removeprefix("http://")
    signed = sign(
        secret_id=secret_id,
        secret_key=SECRET_KEY,
        service="live",
        timestamp=timestamp,
        signed_headers={"Content-Type": "application/json", "Host": host},
        body=body,
    )
    sent = {
        "Authorization": signed.authorization,
        "Content-Type": "application/json",
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": "2018-08-01",
        "X-TC-Region": region,
        "X-TC-Timestamp": str(timestamp),
    }
    return {**sent, **(headers or {})}, body


async def tencent_post(
    session: aiohttp.ClientSession, url: str, headers: dict, body: bytes
) -> dict[str, Any]:
    """`Response` of the twin's answer, which is HTTP 200 whatever happened."""
    async with session.post(url + "/", data=body, headers=headers) as response:
        assert response.status == 200
        return (await response.json())["Response"]


async def tencent_call(
    session: aiohttp.ClientSession, url: str, params: dict, **options: Any
) -> dict[str, Any]:
    """`Response` of a signed call; `options` go to `tencent_request`."""
    headers, body = tencent_request(url, params, **options)
    return await tencent_post(session, url, headers, body)
