"""What a vendor twin received and how it answered, so tests can count and inspect calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

OK = "ok"


class Refusal(Exception):
    """A request the twin refuses; each twin answers it in its vendor's error envelope."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One received request: what was asked and how the twin answered."""

    action: str
    params: dict[str, Any]
    outcome: str
    """"ok", the vendor error code, or the injected fault kind."""
    at: float
    account: str = ""
    """The caller's public key id (never its secret)."""


class RequestLog(list[RequestRecord]):
    """Received requests in arrival order: a plain list with two counting helpers."""

    def of(self, action: str) -> list[RequestRecord]:
        """The requests made to `action`."""
        return [r for r in self if r.action == action]

    def outcomes(self, action: str | None = None) -> Counter[str]:
        """How many requests ended with each outcome, optionally for one action."""
        records = self if action is None else self.of(action)
        return Counter(r.outcome for r in records)
