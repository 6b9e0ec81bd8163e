"""ZEGO server API over HTTP: md5-signed query strings and the `Code`/`Message` envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pipeline import errors
from pipeline.payloads import json_object
from pipeline.source import HttpRequest, HttpResponse, Record
from pipeline.vendors.zego import signer
from pipeline.vendors.zego.account import ZegoAccount

CONTENT_TYPE = "application/json"

_RATE_LIMITED = {300000003}
_CLOCK = {100000004}
_RETRYABLE = {100000015, 300010000}
_DISABLED = {100000017, 300000002}
_AUTH = {100000005, 100000010, 100000011}


def classify(code: int) -> type[errors.VendorError]:
    """The error class of a ZEGO return code."""
    if code in _RATE_LIMITED:
        return errors.RateLimited
    if code in _CLOCK:
        return errors.ClockSkew
    if code in _RETRYABLE:
        return errors.VendorUnavailable
    if code in _DISABLED:
        return errors.AccountDisabled
    if code in _AUTH:
        return errors.AuthError
    return errors.RequestRejected


class ZegoClient:
    """Builds signed requests for one app and reads ZEGO's envelope."""

    def __init__(self, account: ZegoAccount) -> None:
        self._account = account
        self._base = account.endpoint.rstrip("/") + "/"

    def build(self, api: str, params: Mapping[str, Any], now: float) -> HttpRequest:
        body = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        # Seconds in the signature, a fresh nonce on every request (the body is not signed).
        auth = signer.auth_query(
            self._account.app_id,
            self._account.server_secret.get_secret_value(),
            int(now),
            signer.new_nonce(),
        )
        url = f"{self._base}?{urlencode({'Action': api, **auth})}"
        return HttpRequest("POST", url, {"Content-Type": CONTENT_TYPE}, body)

    def parse(self, api: str, response: HttpResponse) -> Record:
        payload = json_object(response.body)
        code = payload.get("Code") if payload else None
        if not isinstance(code, int) or isinstance(code, bool):
            raise _without_envelope(api, response)
        if code != 0:
            raise classify(code)(
                str(code),
                str(payload.get("Message", "")),  # type: ignore[union-attr]
                request_id=payload.get("RequestId"),  # type: ignore[union-attr]
                http_status=response.status,
            )
        data = payload.get("Data")  # type: ignore[union-attr]
        if not isinstance(data, dict):
            raise errors.TransportError(f"{api} answered Code 0 without a Data object")
        return data


def _without_envelope(api: str, response: HttpResponse) -> errors.SourceError:
    if response.status >= 500:
        message = f"{api} answered HTTP {response.status}"
        return errors.VendorUnavailable(f"HTTP{response.status}", message)
    return errors.TransportError(f"{api} answered HTTP {response.status} without a Code")
