"""`ListToys`: the whole account's tasks, page after numbered page, normalized one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.errors import PagingError
from pipeline.model import Kind, Normalized, Rejection, Status, Task
from pipeline.planning.windows import Window
from pipeline.redaction import Redaction
from pipeline.source import Caller, Record

NO_SECRETS = Redaction()
STATUSES = {"on": Status.RUNNING, "off": Status.STOPPED, "done": Status.FINISHED}
MAX_PAGES = 1_000


@dataclass(frozen=True)
class ToyTasks:
    """The `ListToys` source."""

    api: str = "ListToys"
    default_rate: float = 20.0
    rules: None = None
    redaction: Redaction = NO_SECRETS

    async def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        page = 1
        while page <= MAX_PAGES:
            result = await call({"page": page})
            yield list(result["items"])
            if page >= result["pages"]:
                return
            page += 1
        raise PagingError(f"{self.api} has more than {MAX_PAGES} pages")

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        if not isinstance(raw.get("id"), str) or not isinstance(raw.get("start"), int):
            return Rejection("no id or start", raw, raw.get("id"))
        return Task(
            task_id=raw["id"],
            kind=Kind.RECORD,
            status=STATUSES.get(raw.get("state"), Status.UNKNOWN),
            vendor_status=raw.get("state"),
            start_time=datetime.fromtimestamp(raw["start"], UTC),
            end_time=None,
            raw=raw,
        )
