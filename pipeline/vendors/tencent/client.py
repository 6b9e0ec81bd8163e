"""Tencent Cloud API 3.0 over HTTP: signed POST requests and the `Response.Error` envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pipeline import errors
from pipeline.payloads import json_object
from pipeline.source import HttpRequest, HttpResponse, Record
from pipeline.vendors.tencent import signer
from pipeline.vendors.tencent.account import TencentAccount

VERSION = "2018-08-01"
# The first label of live.tencentcloudapi.com; also right for the intl host and for loopback.
SERVICE = "live"
CONTENT_TYPE = "application/json"

_RATE_LIMITED = "RequestLimitExceeded"
_CLOCK = {"AuthFailure.SignatureExpire"}
_RETRYABLE_PREFIXES = ("InternalError", "ServiceUnavailable", "FailedOperation")
_DISABLED_PREFIX = "ResourceNotFound."
_AUTH_PREFIXES = ("AuthFailure", "UnauthorizedOperation")


def classify(code: str) -> type[errors.VendorError]:
    """The error class of a Tencent error code (codes, not messages, are stable)."""
    if code == _RATE_LIMITED or code.startswith(_RATE_LIMITED + "."):
        return errors.RateLimited
    if code in _CLOCK:
        return errors.ClockSkew
    if code.startswith(_AUTH_PREFIXES):
        return errors.AuthError
    if code.startswith(_DISABLED_PREFIX):
        return errors.AccountDisabled
    if code.startswith(_RETRYABLE_PREFIXES):
        return errors.VendorUnavailable
    return errors.RequestRejected


class TencentClient:
    """Builds TC3-signed requests for one account and reads Tencent's envelope."""

    def __init__(self, account: TencentAccount) -> None:
        self._account = account
        self._url = account.endpoint.rstrip("/") + "/"
        self._host = urlsplit(self._url).netloc

    def build(self, api: str, params: Mapping[str, Any], now: float) -> HttpRequest:
        # The exact bytes are signed and sent: never re-serialize after this line.
        body = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        timestamp = int(now)
        signed = signer.sign(
            secret_id=self._account.secret_id,
            secret_key=self._account.secret_key.get_secret_value(),
            service=SERVICE,
            timestamp=timestamp,
            signed_headers={"Content-Type": CONTENT_TYPE, "Host": self._host},
            body=body,
        )
        headers = {
            "Authorization": signed.authorization,
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": api,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": self._account.region,
            "X-TC-Language": self._account.language,
        }
        return HttpRequest("POST", self._url, headers, body)

    def parse(self, api: str, response: HttpResponse) -> Record:
        # A non-200 status means the request never got a normal answer (gateway or network).
        if response.status != 200:
            raise errors.VendorUnavailable(
                f"HTTP{response.status}",
                f"{api} answered HTTP {response.status}",
                http_status=response.status,
            )
        body = json_object(response.body)
        if body is None:
            raise errors.TransportError(f"{api} answered with a body that is not a JSON object")
        payload = body.get("Response")
        if not isinstance(payload, dict):
            raise errors.TransportError(f"{api} answered without a Response object")
        error = payload.get("Error")
        if error is not None:
            code = str(error.get("Code", "UnknownError")) if isinstance(error, dict) else "Unknown"
            message = str(error.get("Message", "")) if isinstance(error, dict) else str(error)
            raise classify(code)(code, message, request_id=payload.get("RequestId"))
        return payload
