"""Reads the SQL under `sql/`: numbered migrations and named queries (`-- name: x` blocks); and
the row count a statement reports."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def sql_dir() -> Path:
    """`sql/` inside the installed package, else at the root of a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "sql", package.parent / "sql"):
        if (candidate / "migrations").is_dir():
            return candidate
    raise FileNotFoundError(f"no sql/ directory next to {package}")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema file, applied once."""

    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def migrations(directory: Path | None = None) -> list[Migration]:
    """Every migration, in order of its number."""
    folder = (directory or sql_dir()) / "migrations"
    return [Migration(p.stem, p.read_text("utf-8")) for p in sorted(folder.glob("[0-9]*.sql"))]


def parse_queries(text: str) -> dict[str, str]:
    """The named statements of one file; a name may appear only once."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


@cache
def queries() -> dict[str, str]:
    """All named queries of `sql/queries/*.sql`."""
    found: dict[str, str] = {}
    for path in sorted((sql_dir() / "queries").glob("*.sql")):
        for name, sql in parse_queries(path.read_text("utf-8")).items():
            if name in found:
                raise ValueError(f"query {name!r} in {path.name} is defined twice")
            found[name] = sql
    return found


def query(name: str) -> str:
    """One named query's SQL."""
    try:
        return queries()[name]
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} under {sql_dir() / 'queries'}") from None


def rows_affected(status: str) -> int:
    """The row count of a command's status, as asyncpg's `execute` returns it ("INSERT 0 5")."""
    return int(status.rsplit(" ", 1)[-1])
