"""Tencent's envelope read into typed errors: codes, not HTTP statuses, decide."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from pipeline import errors
from pipeline.source import HttpResponse
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.client import TencentClient

CLIENT = TencentClient(
    TencentAccount(
        name="a", vendor="tencent", secret_id="AKIDEXAMPLE", secret_key=SecretStr("secretEXAMPLE")
    )
)


def answer(body: object, status: int = 200) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {}, raw)


def error(code: str) -> HttpResponse:
    return answer({"Response": {"Error": {"Code": code, "Message": "m"}, "RequestId": "r"}})


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("RequestLimitExceeded", errors.RateLimited),
        ("RequestLimitExceeded.IPLimitExceeded", errors.RateLimited),
        ("InternalError.NetworkError", errors.VendorUnavailable),
        ("AuthFailure.SignatureExpire", errors.ClockSkew),
        ("AuthFailure.SignatureFailure", errors.AuthError),
        ("UnauthorizedOperation", errors.AuthError),
        ("ResourceNotFound.FreezeService", errors.AccountDisabled),
        ("InvalidParameter", errors.RequestRejected),
    ],
)
def test_an_error_in_an_http_200_body_is_raised_as_its_class(code: str, kind: type) -> None:
    with pytest.raises(kind) as raised:
        CLIENT.parse("DescribeRecordTask", error(code))
    assert raised.value.code == code and raised.value.request_id == "r"


def test_a_gateway_status_is_a_retryable_unavailability() -> None:
    with pytest.raises(errors.VendorUnavailable):
        CLIENT.parse("DescribeRecordTask", answer(b"<html>bad gateway</html>", status=502))


@pytest.mark.parametrize("body", [b'{"Response": {"TaskList": [', b"not json", b"[1, 2]", b"{}"])
def test_an_unreadable_body_is_a_transport_error(body: bytes) -> None:
    with pytest.raises(errors.TransportError):
        CLIENT.parse("DescribeRecordTask", answer(body))


def test_a_request_is_signed_over_the_exact_bytes_sent() -> None:
    request = CLIENT.build("DescribeRecordTask", {"StartTime": 1, "EndTime": 2}, 1_700_000_000)
    assert request.body == b'{"StartTime":1,"EndTime":2}'
    assert request.headers["X-TC-Timestamp"] == "1700000000"
    assert request.headers["Authorization"].startswith(
        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/live/tc3_request, "
        "SignedHeaders=content-type;host, Signature="
    )
