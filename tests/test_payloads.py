"""Vendor bodies as the pipeline holds them: what jsonb cannot store is replaced on reading."""

from __future__ import annotations

import pytest

from pipeline.payloads import NUL_STANDIN, json_object


@pytest.mark.parametrize(
    ("literal", "held"),
    [("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf"), ("1e400", "inf"), ("1.5", 1.5)],
)
def test_a_number_jsonb_cannot_store_is_held_as_its_name(literal: str, held: object) -> None:
    assert json_object(b'{"Records": [{"Size": %s}]}' % literal.encode()) == {
        "Records": [{"Size": held}]
    }


def test_an_escaped_nul_is_replaced_in_keys_and_values_at_any_depth() -> None:
    body = b'{"Records": [{"Note\\u0000": "a\\u0000b"}]}'
    assert json_object(body) == {"Records": [{f"Note{NUL_STANDIN}": f"a{NUL_STANDIN}b"}]}


def test_a_body_with_nothing_to_replace_is_read_as_it_is() -> None:
    assert json_object(b'{"Records": [{"Id": 1, "Name": "x"}]}') == {
        "Records": [{"Id": 1, "Name": "x"}]
    }
