"""Shards: N workers with the same config split a round's sources between them, each once.

A source (an account and API) belongs to the shard a stable hash of it picks: the same on every
run, machine and Python, so a retried worker redoes only its own sources. The hash is Lamping and
Veach's jump consistent hash: when N grows by one, only about 1/(N+1) of the sources move. The
advisory locks stay the guard while two sharding schemes overlap (N changed during a rollout).

APIs of one account that share a vendor limit (a helper API every source of the vendor calls)
move together: two workers pacing one limit each on their own would exceed it between them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.vendors import VENDORS

SHARD_ENV = "PIPELINE_SHARD"
"""I/N, like --shard."""
COUNT_ENV = "PIPELINE_SHARD_COUNT"
"""N, with the index from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX."""
INDEX_ENV = "JOB_COMPLETION_INDEX"
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_JUMP_MULTIPLIER = 2862933555777941757
_U64 = 2**64


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count` (0 <= index < count)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if problem := _problem(self.index, self.count):
            raise ConfigError(f"shard {self}: {problem}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, vendor: str, account: str, api: str) -> bool:
        """Whether the source `account`/`api` of `vendor` is this shard's."""
        return shard_of(unit_of(vendor, account, api), self.count) == self.index


def _problem(index: int, count: int) -> str | None:
    if count < 1:
        return "the number of shards must be at least 1"
    if not 0 <= index < count:
        return (
            f"the index must be from 0 to {count - 1} "
            "(shards are numbered from 0, as JOB_COMPLETION_INDEX is)"
        )
    return None


def unit_of(vendor: str, account: str, api: str) -> str:
    """What moves between shards as one: the account's API, or the whole account when its
    vendor's sources share a helper API's limit."""
    known = VENDORS.get(vendor)
    return account if known is not None and known.helper_apis else f"{account}/{api}"


def shard_of(unit: str, count: int) -> int:
    """The shard of `unit` among `count`: jump consistent hash of a stable 64-bit digest."""
    key = int.from_bytes(hashlib.blake2b(unit.encode(), digest_size=8).digest(), "big")
    bucket, candidate = -1, 0
    while candidate < count:
        bucket = candidate
        key = (key * _JUMP_MULTIPLIER + 1) % _U64
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def parse_shard(text: str, where: str = "--shard") -> Shard:
    """`I/N` as a Shard; a ConfigError naming `where` otherwise."""
    match = _SPEC.match(text)
    if match is None:
        raise ConfigError(f"{where} {text!r}: expected I/N, e.g. 0/4 (shard 0 of 4)")
    index, count = int(match[1]), int(match[2])
    if problem := _problem(index, count):
        raise ConfigError(f"{where} {text.strip()}: {problem}")
    return Shard(index, count)


def resolve_shard(option: str | None, environ: Mapping[str, str]) -> Shard | None:
    """The worker's shard: --shard, else PIPELINE_SHARD, else JOB_COMPLETION_INDEX of
    PIPELINE_SHARD_COUNT; None (every source) when none is set."""
    if option is not None:
        return parse_shard(option)
    if environ.get(SHARD_ENV, "").strip():
        return parse_shard(environ[SHARD_ENV], SHARD_ENV)
    count = environ.get(COUNT_ENV, "").strip()
    if not count:
        return None
    index = environ.get(INDEX_ENV, "").strip()
    if not index:
        raise ConfigError(
            f"{COUNT_ENV}={count} but {INDEX_ENV} is not set: it names this worker's shard "
            f"(Kubernetes sets it in an Indexed Job; elsewhere use --shard I/N or {SHARD_ENV})"
        )
    return parse_shard(f"{index}/{count}", f"{INDEX_ENV}/{COUNT_ENV}")
