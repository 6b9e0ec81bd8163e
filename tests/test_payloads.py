"""Vendor bodies and records as the pipeline holds them: what PostgreSQL or the hasher cannot take
is replaced on reading, and every record meets the bounds before it is stored."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from pipeline.db.staging import content_hash
from pipeline.model import Kind, Rejection, Status, Task
from pipeline.payloads import STANDIN, json_object
from pipeline.records import (
    HEAD_BYTES,
    MAX_RAW_BYTES,
    MAX_TASK_ID_CHARS,
    bounded,
    storable_raw,
    storable_text,
)

GIANT = "7" * 5000


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
    assert json_object(body) == {"Records": [{f"Note{STANDIN}": f"a{STANDIN}b"}]}


def test_a_body_with_nothing_to_replace_is_read_as_it_is() -> None:
    assert json_object(b'{"Records": [{"Id": 1, "Name": "x"}]}') == {
        "Records": [{"Id": 1, "Name": "x"}]
    }


# --- lone surrogates ---------------------------------------------------------------------------


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\uDFFF", b"\\udbff"])
def test_an_escaped_lone_surrogate_is_kept_as_its_escape_in_keys_and_values(escape: bytes) -> None:
    body = b'{"Records": [{"Note%s": "a%sb"}]}' % (escape, escape)
    text = escape.decode().lower()
    assert json_object(body) == {"Records": [{f"Note{text}": f"a{text}b"}]}


def test_two_ids_differing_only_in_their_lone_surrogates_stay_two() -> None:
    decoded = json_object(b'{"Ids": ["a\\ud800", "a\\ud801"]}')
    assert decoded == {"Ids": ["a\\ud800", "a\\ud801"]}


def test_a_utf8_encoded_lone_surrogate_is_kept_as_its_escape() -> None:
    body = '{"Note": "a\ud800b"}'.encode("utf-8", "surrogatepass")
    assert json_object(body) == {"Note": "a\\ud800b"}


def test_a_surrogate_pair_is_one_character_and_is_kept() -> None:
    assert json_object(b'{"Note": "\\ud83d\\ude00"}') == {"Note": "\U0001f600"}


def test_hangul_shares_a_first_byte_with_surrogates_and_is_kept() -> None:
    assert json_object('{"Note": "한국 \ud7a3"}'.encode()) == {"Note": "한국 \ud7a3"}


# --- integers beyond 64 bits -------------------------------------------------------------------


def test_an_integer_past_the_conversion_limit_does_not_make_the_body_unreadable() -> None:
    assert len(GIANT) > sys.get_int_max_str_digits()
    body = b'{"Records": [{"Size": %s}, {"Size": 1}]}' % GIANT.encode()
    assert json_object(body) == {"Records": [{"Size": GIANT}, {"Size": 1}]}


@pytest.mark.parametrize(
    ("literal", "held"),
    [
        ("9223372036854775807", 9223372036854775807),
        ("-9223372036854775808", -9223372036854775808),
        ("9223372036854775808", "9223372036854775808"),
        ("-9223372036854775809", "-9223372036854775809"),
        ("18446744073709551616", "18446744073709551616"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
    ],
)
def test_an_integer_beyond_signed_64_bits_is_kept_as_text(literal: str, held: object) -> None:
    assert json_object(b'{"Size": %s}' % literal.encode()) == {"Size": held}


def test_a_record_reads_the_same_whatever_else_is_on_its_page() -> None:
    record = b'{"TaskId": "t", "Size": 12345, "Begin": 1767225600000}'
    alone = json_object(b'{"Records": [%s]}' % record)
    beside_giant = json_object(b'{"Records": [%s, {"Size": %s}]}' % (record, GIANT.encode()))
    assert alone is not None and beside_giant is not None
    assert alone["Records"][0] == beside_giant["Records"][0]


def test_long_digits_inside_a_string_change_nothing() -> None:
    body = b'{"TaskId": "12345678901234567890123", "Size": 7}'
    assert json_object(body) == {"TaskId": "12345678901234567890123", "Size": 7}


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"a": 1', b"{" * 100_000])
def test_a_body_that_is_not_a_json_object_is_none(body: bytes) -> None:
    assert json_object(body) is None


# --- the bounds every record meets -------------------------------------------------------------

SEEN = datetime(2026, 1, 10, tzinfo=UTC)


def task(task_id: str, **raw: object) -> Task:
    return Task(task_id, Kind.RECORD, Status.FINISHED, None, SEEN, SEEN, {"TaskId": task_id, **raw})


def test_a_task_within_the_bounds_is_kept() -> None:
    item = task("a" * MAX_TASK_ID_CHARS, Note="n" * 1000)
    assert bounded(item, item.raw) is item


def test_a_task_id_over_the_bound_is_a_rejection_naming_task_id() -> None:
    item = task("g" * 20_000)
    rejection = bounded(item, item.raw)
    assert rejection == Rejection(
        "task_id: 20000 characters, more than 512", item.raw, "g" * MAX_TASK_ID_CHARS
    )


def test_a_raw_record_over_the_size_bound_is_a_rejection_naming_raw() -> None:
    item = task("big", Note="n" * MAX_RAW_BYTES)
    size = len(json.dumps(item.raw, separators=(",", ":")))
    rejection = bounded(item, item.raw)
    assert rejection == Rejection(
        f"raw: {size} bytes as JSON, more than {MAX_RAW_BYTES}", item.raw, "big"
    )


def test_an_integer_orjson_refuses_is_measured_the_slow_way() -> None:
    item = task("wide", Size=2**70)
    assert bounded(item, item.raw) is item


def test_a_rejection_keeps_its_reason_and_its_id_is_cut_to_the_bound() -> None:
    raw = {"TaskId": "r" * 600, "Status": "x"}
    rejection = bounded(Rejection("Status: not an int", raw, raw["TaskId"]), raw)
    assert rejection == Rejection("Status: not an int", raw, "r" * MAX_TASK_ID_CHARS)


def test_the_same_record_hashes_the_same_beside_a_giant_number() -> None:
    record = b'{"TaskId": "t", "Size": 12345, "Begin": 1767225600000}'
    pages = [b'{"R": [%s]}' % record, b'{"R": [%s, {"N": %s}]}' % (record, GIANT.encode())]
    raws = [json_object(page)["R"][0] for page in pages]  # type: ignore[index]
    assert content_hash(task("t", **raws[0])) == content_hash(task("t", **raws[1]))


# --- a rejection's payload, always storable ----------------------------------------------------


def test_a_rejected_payload_is_its_json() -> None:
    assert json.loads(storable_raw({"TaskId": "x", "Size": [1, 2.5, None]})) == {
        "TaskId": "x",
        "Size": [1, 2.5, None],
    }


def test_what_jsonb_refuses_is_replaced_in_a_rejected_payload() -> None:
    text = storable_raw({"Note\x00": "a\ud800b"})
    text.encode()  # a COPY sends UTF-8: no surrogate is left
    assert json.loads(text) == {f"Note{STANDIN}": "a\\ud800b"}


def test_a_payload_over_the_bound_is_a_marker_with_its_head() -> None:
    raw = {"TaskId": "big", "Note": "é" * MAX_RAW_BYTES}
    marker = json.loads(storable_raw(raw))
    assert marker["truncated"] is True
    assert marker["bytes"] == len(json.dumps(raw, ensure_ascii=False).encode())
    head = marker["head"].encode()
    assert HEAD_BYTES - 1 <= len(head) <= HEAD_BYTES  # a cut through "é" drops its first byte
    assert marker["head"].startswith('{"TaskId": "big", "Note": "éé')


@pytest.mark.parametrize(
    "raw",
    [float("nan"), {"Size": 10**5000}, {(1, 2): "tuple key"}],
    ids=["NaN", "5000-digit int", "not JSON"],
)
def test_a_payload_json_cannot_write_is_a_marker_holding_its_repr(raw: object) -> None:
    marker = json.loads(storable_raw(raw))
    assert marker["truncated"] is True and isinstance(marker["head"], str)


def test_a_payload_nested_too_deep_for_json_is_a_marker() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    marker = json.loads(storable_raw(deep))
    assert marker == {"truncated": True, "bytes": len(marker["head"]), "head": marker["head"]}


def test_a_task_id_and_a_reason_are_cut_and_cleaned_for_their_columns() -> None:
    assert storable_text("a\x00" * 400, MAX_TASK_ID_CHARS) == f"a{STANDIN}" * 256
    assert storable_text(None, MAX_TASK_ID_CHARS) is None
