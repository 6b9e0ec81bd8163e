"""The fewest requests a sync can send when nothing changed, from each vendor's rules. Pure.

What must be read again is what may have changed since the last read: every task of a
whole-account list (nothing tells which moved), and for windowed lists the tasks that had not
ended when they were last read plus every scheduled one. Each vendor's rule is its kit's
`minimum` (bench.py in the vendor's folder), with the largest page sizes each API allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.accounts import kit_of


@dataclass(frozen=True, slots=True)
class Minimum:
    """The fewest requests, and the reasoning that gives them."""

    requests: int
    why: str


def minimum_of(
    api: str, tasks: Sequence[Mapping[str, Any]], last_read: float, now: float, **options: Any
) -> Minimum:
    """The fewest requests a sync of `api` at `now` needs after a complete read of `tasks` at
    `last_read`; `options` go to the vendor's rule (e.g. a page size other than the twin's)."""
    rule = kit_of(api).minimum
    if rule is None:
        raise ValueError(f"no minimum known for {api}")
    return Minimum(*rule(api, tasks, last_read, now, **options))
