"""ZEGO md5 signing (SignatureVersion 2.0) reproduces every vector, ZEGO's own example included."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from pipeline.vendors.zego import signer
from tests.vectors import load_vectors

VECTORS = load_vectors("zego_")


def test_every_zego_vector_is_present() -> None:
    assert {v["name"] for v in VECTORS} >= {
        "zego_official_doc_example",
        "zego_describe_tasks_page1",
    }


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_signature_reproduces_vector(vector: dict) -> None:
    given, expected = vector["input"], vector["expected"]
    signed = signer.signature(
        given["app_id"], given["signature_nonce"], given["server_secret"], given["timestamp"]
    )
    assert signed == expected["signature"]
    hashed = f"{given['app_id']}{given['signature_nonce']}{given['server_secret']}"
    assert hashed + str(given["timestamp"]) == expected["string_hashed"]


def test_zegos_published_example() -> None:
    signed = signer.signature(
        12345, "4fd24687296dd9f3", "9193cc662a4c0ec135ec71fb57194b38", 1615186943
    )
    assert signed == "43e5cfcca828314675f91b001390566a"


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "query" in v["expected"]], ids=lambda v: v["name"]
)
def test_auth_query_and_url_reproduce_vector(vector: dict) -> None:
    given, expected = vector["input"], vector["expected"]
    query = {
        "Action": given["action"],
        **signer.auth_query(
            given["app_id"], given["server_secret"], given["timestamp"], given["signature_nonce"]
        ),
    }
    assert query == expected["query"]
    assert query["SignatureVersion"] == given["signature_version"]
    assert f"{given['base_url']}?{urlencode(query)}" == expected["url"]


def test_nonces_are_fresh_16_hex_strings() -> None:
    nonces = [signer.new_nonce() for _ in range(200)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", nonce) for nonce in nonces)
    assert len(set(nonces)) == len(nonces)


def test_signature_changes_with_each_signed_value() -> None:
    base = signer.signature(1234567890, "4fd24687296dd9f3", "secretEXAMPLE", 1700000000)
    assert re.fullmatch(r"[0-9a-f]{32}", base)
    variants = [
        signer.signature(1234567891, "4fd24687296dd9f3", "secretEXAMPLE", 1700000000),
        signer.signature(1234567890, "4fd24687296dd9f4", "secretEXAMPLE", 1700000000),
        signer.signature(1234567890, "4fd24687296dd9f3", "secretEXAMPLF", 1700000000),
        signer.signature(1234567890, "4fd24687296dd9f3", "secretEXAMPLE", 1700000001),
    ]
    assert base not in variants and len(set(variants)) == 4
