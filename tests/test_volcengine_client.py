"""Volcengine's envelope read into typed errors, whatever the HTTP status says."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from pipeline import errors
from pipeline.source import HttpResponse
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.client import VolcengineClient

CLIENT = VolcengineClient(
    VolcengineAccount(
        name="v",
        vendor="volcengine",
        access_key_id="AKIDEXAMPLE",
        secret_access_key=SecretStr("secretEXAMPLE"),
    )
)


def error(code: str, status: int) -> HttpResponse:
    body = {"ResponseMetadata": {"RequestId": "r", "Error": {"Code": code, "Message": "m"}}}
    return HttpResponse(status, {"Retry-After": "2"}, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("CommonErr", 200, errors.VendorUnavailable),
        ("FlowLimitExceeded", 429, errors.RateLimited),
        ("InternalServiceTimeout", 504, errors.VendorUnavailable),
        ("InvalidTimestamp", 400, errors.ClockSkew),
        ("SignatureDoesNotMatch", 401, errors.AuthError),
        ("RequestForbidden.BillingStatus", 403, errors.AccountDisabled),
        ("InvalidParam", 400, errors.RequestRejected),
    ],
)
def test_the_error_code_decides_the_class(code: str, status: int, kind: type) -> None:
    with pytest.raises(kind) as raised:
        CLIENT.parse("ListPullRecordTask", error(code, status))
    assert (raised.value.code, raised.value.http_status) == (code, status)


def test_a_rate_limit_carries_the_retry_after_hint() -> None:
    with pytest.raises(errors.RateLimited) as raised:
        CLIENT.parse("ListPullRecordTask", error("FlowLimitExceeded", 429))
    assert raised.value.retry_after == 2.0


def test_an_answer_without_result_is_not_an_empty_page() -> None:
    body = json.dumps({"ResponseMetadata": {"RequestId": "r"}}).encode()
    with pytest.raises(errors.TransportError):
        CLIENT.parse("ListPullRecordTask", HttpResponse(200, {}, body))


def test_a_gateway_page_without_envelope_is_retryable() -> None:
    with pytest.raises(errors.VendorUnavailable):
        CLIENT.parse("ListPullRecordTask", HttpResponse(502, {}, b"<html>bad gateway</html>"))


def test_a_request_carries_action_and_version_in_the_query_and_a_utc_x_date() -> None:
    request = CLIENT.build("ListPullRecordTask", {"PageNum": 1, "PageSize": 500}, 1_700_000_000)
    assert request.url.endswith("/?Action=ListPullRecordTask&Version=2023-01-01")
    assert request.headers["X-Date"] == "20231114T221320Z"
    assert (
        "SignedHeaders=content-type;host;x-content-sha256;x-date"
        in request.headers["Authorization"]
    )
