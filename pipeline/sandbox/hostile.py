"""Hostile records: what a vendor could send inside an otherwise good page, seeded per test.

Python's json cannot write all of it (a lone surrogate as UTF-8, an integer of 5,000 digits), so
a twin's payload holds such a value as `RawJson`, whose text `dumps` puts into the answer's bytes
verbatim. `hostile_records` spoils copies of one good record of a vendor's shape, one way each;
`insert_records` puts records into the task array of an action's next answer:

    twin = ZegoSandbox(...)
    records = hostile_records(good_item, [Hostile.GIANT_ID, Hostile.LONE_SURROGATE], seed=7)
    insert_records(twin, "DescribeTasks", records)
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.sandbox.twin import Handler, Twin

GIANT_ID_CHARS = 20_000
GIANT_INT_DIGITS = 5_000  # past Python's 4,300-digit int conversion limit
OVERSIZED_CHARS = 2 << 20  # 2 MiB in one string
# A string json.dumps writes in place of a RawJson; the uuid keeps it out of real content.
_MARK = f"rawjson-{uuid.uuid4().hex}-"
_PLACEHOLDER = re.compile(rb'"' + _MARK.encode() + rb'(\d+)"')


@dataclass(frozen=True, slots=True)
class RawJson:
    """JSON text sent as it is where a value goes; lone surrogates in it go out as UTF-8 bytes."""

    text: str

    @property
    def data(self) -> bytes:
        """The bytes sent."""
        return self.text.encode("utf-8", "surrogatepass")


def dumps(payload: Any) -> bytes:
    """`payload` as UTF-8 JSON, each RawJson's text in its place (a twin's answer body)."""
    raws: list[RawJson] = []

    def placeholder(value: object) -> str:
        if not isinstance(value, RawJson):
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        raws.append(value)
        return f"{_MARK}{len(raws) - 1}"

    data = json.dumps(payload, ensure_ascii=False, default=placeholder).encode("utf-8")
    if not raws:
        return data
    return _PLACEHOLDER.sub(lambda match: raws[int(match[1])].data, data)


class Hostile(StrEnum):
    """One way to spoil a record."""

    LONE_SURROGATE = "lone_surrogate"
    """A string holding a lone UTF-16 surrogate, escaped or UTF-8-encoded."""
    GIANT_ID = "giant_id"
    """A TaskId of GIANT_ID_CHARS characters."""
    GIANT_INT = "giant_int"
    """An integer of GIANT_INT_DIGITS digits, in one of the record's int fields or a new one."""
    OVERSIZED = "oversized"
    """A string of OVERSIZED_CHARS characters, in one of the record's string fields or a new one."""
    ARBITRARY = "arbitrary"
    """Random JSON in place of some fields, hostile values among it; the TaskId may go too."""


def hostile_records(
    template: Mapping[str, Any], kinds: Iterable[Hostile], *, seed: int, id_key: str = "TaskId"
) -> list[dict[str, Any]]:
    """A copy of `template` spoiled each way of `kinds`, each with an id of its own."""
    rng = random.Random(seed)
    return [
        _spoil(dict(template), Hostile(kind), f"hostile-{seed}-{n}", rng, id_key)
        for n, kind in enumerate(kinds)
    ]


def insert_records(
    twin: Twin, action: str, records: Sequence[Any], *, answer: int = 1, seed: int = 0
) -> None:
    """Insert `records` at seeded places in the task array of the `answer`-th successful answer
    to `action` from now on (the task array: the one list in the action's result)."""
    handler: Handler = twin.actions[action]
    rng = random.Random(seed)
    answered = 0

    def inserting(params: dict[str, Any]) -> dict[str, Any]:
        nonlocal answered
        result = handler(params)
        answered += 1
        if answered != answer:
            return result
        lists = [k for k, v in result.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise ValueError(f"{action} answered {len(lists)} lists, not one task array")
        key = lists[0]
        tasks = list(result[key])
        for record in records:
            tasks.insert(rng.randint(0, len(tasks)), record)
        return {**result, key: tasks}

    twin.actions[action] = inserting


def random_json(rng: random.Random, depth: int = 2) -> Any:
    """A seeded JSON value of any kind, hostile ones among them."""
    kind = rng.randrange(10 if depth > 0 else 8)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**63), 2**63 - 1)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind == 3:
        return _text(rng, rng.randint(0, 12))
    if kind == 4:
        return _surrogate_text(rng, _text(rng, 4))
    if kind == 5:
        return _giant_int(rng)
    if kind == 6:
        return RawJson(rng.choice(["NaN", "-Infinity", "1e400", '"\\u0000"']))
    if kind == 7:
        return _text(rng, rng.randint(600, 2000))
    if kind == 8:
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng, 5): random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))}


def _spoil(
    record: dict[str, Any], kind: Hostile, task_id: str, rng: random.Random, id_key: str
) -> dict[str, Any]:
    record[id_key] = task_id
    if kind is Hostile.LONE_SURROGATE:
        field = _field(record, str, "Note", rng, id_key)
        record[field] = _surrogate_text(rng, str(record.get(field, "note")))
    elif kind is Hostile.GIANT_ID:
        record[id_key] = f"{task_id}-{_text(rng, GIANT_ID_CHARS)}"[:GIANT_ID_CHARS]
    elif kind is Hostile.GIANT_INT:
        record[_field(record, int, "Size", rng, id_key)] = _giant_int(rng)
    elif kind is Hostile.OVERSIZED:
        chunk = _text(rng, 1024)
        record[_field(record, str, "Note", rng, id_key)] = chunk * (OVERSIZED_CHARS // 1024)
    else:
        for field in rng.sample(sorted(record), k=rng.randint(1, len(record))):
            record[field] = random_json(rng)
        record.update({_text(rng, 6): random_json(rng) for _ in range(rng.randint(0, 2))})
        if rng.random() < 0.5:  # keep a usable id, or lose it
            record[id_key] = task_id
    return record


def _field(record: Mapping[str, Any], kind: type, new: str, rng: random.Random, id_key: str) -> str:
    """One of the record's fields holding a `kind` (bool is no int), or `new` when none does."""
    fields = [
        k
        for k, v in record.items()
        if k != id_key and isinstance(v, kind) and not isinstance(v, bool)
    ]
    return rng.choice([*sorted(fields), new])


def _text(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=length))


def _surrogate_text(rng: random.Random, text: str) -> RawJson:
    """`text` with a lone surrogate in it, as a JSON escape or as UTF-8 bytes (both are seen)."""
    code = rng.randint(0xD800, 0xDFFF)
    cut = rng.randint(0, len(text))
    head, tail = json.dumps(text[:cut])[1:-1], json.dumps(text[cut:])[1:-1]
    middle = f"\\u{code:04x}" if rng.random() < 0.5 else chr(code)
    return RawJson(f'"{head}{middle}{tail}"')


def _giant_int(rng: random.Random) -> RawJson:
    digits = str(rng.randint(1, 9)) + _digits(rng, GIANT_INT_DIGITS - 1)
    return RawJson(rng.choice(["", "-"]) + digits)


def _digits(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.digits, k=length))
