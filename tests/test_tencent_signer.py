"""TC3-HMAC-SHA256 reproduces every Tencent vector produced with the official SDK."""

from __future__ import annotations

import pytest

from pipeline.vendors.tencent import signer
from tests.vectors import load_vectors

VECTORS = load_vectors("tencent_")


def _signed_headers(vector: dict) -> dict[str, str]:
    given = vector["input"]
    headers = {"Content-Type": given["content_type"], "Host": given["host"]}
    headers.update(given.get("extra_signed_header", {}))
    return headers


def test_every_tencent_vector_is_present() -> None:
    assert len(VECTORS) >= 4


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_signer_reproduces_vector(vector: dict) -> None:
    given, expected = vector["input"], vector["expected"]
    signed = signer.sign(
        secret_id=given["secret_id"],
        secret_key=given["secret_key"],
        service=given["service"],
        timestamp=given["timestamp"],
        signed_headers=_signed_headers(vector),
        body=given["body"].encode("utf-8"),
    )
    assert signed.canonical_request == expected["canonical_request"]
    assert signed.string_to_sign == expected["string_to_sign"]
    assert signed.credential_scope == expected["credential_scope"]
    assert signed.signature == expected["signature"]
    assert signed.authorization == expected["authorization"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_derived_keys_match_vector(vector: dict) -> None:
    given, expected = vector["input"], vector["expected"]
    key = signer.signing_key(given["secret_key"], expected["date"], given["service"])
    assert key.hex() == expected["secret_signing_hex"]


def test_credential_date_is_utc_not_beijing() -> None:
    # 1551113065 is already 2019-02-26 in Beijing.
    assert signer.utc_date(1551113065) == "2019-02-25"
