"""Cuts a page chain that keeps answering but brings nothing new.

A vendor that keeps handing out tokens, or reports more pages than it has tasks, would keep a
window reading forever: pages that only repeat tasks already read are counted, and a few in a
row end the chain with `ChainCut`. (Every window also has a page cap and a deadline.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.errors import ChainCut

PAGES_WITHOUT_NEWS = 3
"""Pages in a row that bring no task not read before, after which a chain is cut."""


class NewsCheck:
    """Counts pages in a row that bring no task id not read before in this chain."""

    def __init__(self, api: str, id_key: str, limit: int = PAGES_WITHOUT_NEWS) -> None:
        self._api = api
        self._id_key = id_key
        self._limit = limit
        self._seen: set[int] = set()  # hashes, not ids: small for a long chain
        self._quiet = 0

    def page(self, records: Iterable[Any]) -> None:
        """Note a page; raises ChainCut after `limit` pages in a row with nothing new.

        A record without a usable id counts as new: the window's page cap bounds those.
        """
        before, unidentified = len(self._seen), False
        for record in records:
            task_id = record.get(self._id_key) if isinstance(record, dict) else None
            if isinstance(task_id, str):
                self._seen.add(hash(task_id))
            else:
                unidentified = True
        if unidentified or len(self._seen) > before:
            self._quiet = 0
            return
        self._quiet += 1
        if self._quiet >= self._limit:
            raise ChainCut(
                f"{self._api}: {self._quiet} pages in a row brought no task not read before; "
                "the chain was cut"
            )

    def restart(self) -> None:
        """Forget the chain: it starts over and repeats what it read."""
        self._seen.clear()
        self._quiet = 0
