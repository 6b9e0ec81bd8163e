"""Volcengine OpenAPI over HTTP: V4-signed POSTs and the `ResponseMetadata.Error` envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pipeline import errors
from pipeline.payloads import json_object
from pipeline.source import HttpRequest, HttpResponse, Record
from pipeline.vendors.volcengine import signer
from pipeline.vendors.volcengine.account import VolcengineAccount

VERSION = "2023-01-01"
CONTENT_TYPE = "application/json"

_RATE_LIMITED = {"FlowLimitExceeded", "AccountFlowLimitExceeded"}
_RETRYABLE = {
    "CommonErr",
    "InternalError",
    "InternalServiceTimeout",
    "ServiceUnavailableTemp",
    "FailToConnect",
    "ResourceNotFound",  # the docs advise retrying these
}
_AUTH = {"InvalidAccessKey", "SignatureDoesNotMatch", "AccessDenied"}


def classify(code: str) -> type[errors.VendorError]:
    """The error class of a Volcengine error code (codes, not HTTP statuses, decide)."""
    if code in _RATE_LIMITED:
        return errors.RateLimited
    if code == "InvalidTimestamp":
        return errors.ClockSkew
    if code in _RETRYABLE or code.startswith("InternalServiceError"):
        return errors.VendorUnavailable
    if code == "RequestForbidden.BillingStatus":
        return errors.AccountDisabled
    if code in _AUTH or code.startswith("RequestForbidden"):
        return errors.AuthError
    return errors.RequestRejected


class VolcengineClient:
    """Builds signed requests for one account and reads Volcengine's envelope."""

    def __init__(self, account: VolcengineAccount) -> None:
        self._account = account
        self._base = account.endpoint.rstrip("/") + "/"
        self._host = urlsplit(self._base).netloc

    def build(self, api: str, params: Mapping[str, Any], now: float) -> HttpRequest:
        # The exact bytes are signed and sent: never re-serialize after this line.
        body = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        query = {"Action": api, "Version": VERSION}
        date_time = signer.x_date(now)
        headers = signer.headers_to_sign(self._host, body, date_time, CONTENT_TYPE)
        signed = signer.sign(
            access_key_id=self._account.access_key_id,
            secret_access_key=self._account.secret_access_key.get_secret_value(),
            date_time=date_time,
            query=query,
            signed_headers=headers,
            body=body,
            region=self._account.region,
        )
        url = f"{self._base}?{signer.canonical_query(query)}"
        return HttpRequest("POST", url, {**headers, "Authorization": signed.authorization}, body)

    def parse(self, api: str, response: HttpResponse) -> Record:
        # Errors can come with HTTP 200 (CommonErr): the envelope decides, whatever the status.
        payload = json_object(response.body)
        meta = payload.get("ResponseMetadata") if payload else None
        error = meta.get("Error") if isinstance(meta, dict) else None
        if isinstance(error, dict) and error.get("Code"):
            code = str(error["Code"])
            raise classify(code)(
                code,
                str(error.get("Message", "")),
                request_id=meta.get("RequestId"),
                http_status=response.status,
                retry_after=_retry_after(response.headers),
            )
        if payload is None or response.status != 200:
            raise _without_envelope(api, response)
        result = payload.get("Result")
        if not isinstance(result, dict):
            raise errors.TransportError(f"{api} answered without a Result object")
        return result


def _without_envelope(api: str, response: HttpResponse) -> errors.SourceError:
    status = response.status
    if status == 429:
        return errors.RateLimited(f"HTTP{status}", f"{api} answered HTTP 429", http_status=status)
    if status >= 500:
        return errors.VendorUnavailable(
            f"HTTP{status}", f"{api} answered HTTP {status}", http_status=status
        )
    return errors.TransportError(f"{api} answered HTTP {status} without a readable envelope")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
