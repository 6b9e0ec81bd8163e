"""The seams every vendor API fits: a client that speaks the vendor's protocol, and a source.

A source declares its API name, documented rate and window rules as data; `fetch` is its only
I/O and yields pages of raw records; `normalize` maps one raw record to a task or a rejection.
The runner plans windows from the declared rules, so a source never touches the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pipeline.model import Normalized
from pipeline.planning.windows import Window, WindowRules
from pipeline.redaction import Redaction

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A fully signed request, ready to send byte for byte."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What came back, before the vendor's envelope is read."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class VendorClient(Protocol):
    """Signs requests and reads the vendor's response envelope; knows nothing of paging."""

    def build(self, api: str, params: Mapping[str, Any], now: float) -> HttpRequest:
        """A signed request for `api` with `params`, timestamped `now` (Unix seconds)."""
        ...

    def parse(self, api: str, response: HttpResponse) -> Record:
        """The payload of a successful answer; raises a VendorError or TransportError otherwise."""
        ...


class Caller(Protocol):
    """Sends one API call through the limiter and the retry policy.

    `api` names one of the vendor's helper APIs; by default the source's own API is called.
    """

    async def __call__(self, params: Mapping[str, Any], api: str | None = None) -> Record: ...


class Source(Protocol):
    """One vendor list API."""

    api: str
    default_rate: float
    """Documented requests per second for one account."""
    rules: WindowRules | None
    """How this API's windows are planned; None when it lists the whole account every time."""
    redaction: Redaction
    """What its records hold secret, beyond what every string is scanned for (see
    `pipeline.redaction`)."""

    def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        """The raw records of every page of `window`, page by page, to the end.

        Raises `PartialListing` after the last page when the pages cannot be trusted to hold
        every task (the list shifted under the reader): what was read is still loaded.
        """
        ...

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        """One raw record as a task, or a rejection saying why it cannot be one."""
        ...
