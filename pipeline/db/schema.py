"""The pipeline's schema: where its objects live, what every connection searches, and whether
the database is at the migrations this release ships.

Only `pipeline migrate` changes the schema; the other commands check it and stop when the
database is behind, so the loader and analyst roles need no DDL rights.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import asyncpg

from pipeline.db.sqlfiles import Migration, migrations, query
from pipeline.errors import DatabaseError, SchemaOutOfDate

SCHEMA = "pipeline"
# pg_catalog first, then the schema only the owner creates in: nothing another role may create
# is ever resolved, not even an exact-signature overload of a built-in.
SEARCH_PATH = f"pg_catalog, {SCHEMA}"
MIGRATE = "run `pipeline migrate`"


def schema_problem(applied: Iterable[str], shipped: Iterable[Migration]) -> str | None:
    """Why a database with the migrations `applied` cannot serve this release, or None."""
    done, files = set(applied), [m.version for m in shipped]
    if missing := [version for version in files if version not in done]:
        state = "has no pipeline schema" if not done else "schema is behind this release"
        return f"the database {state} ({', '.join(missing)} not applied): {MIGRATE}"
    if unknown := sorted(done - set(files)):
        return (
            f"the database schema is ahead of this release ({', '.join(unknown)} applied by a "
            "newer one): upgrade the pipeline"
        )
    return None


async def applied_versions(conn: asyncpg.Connection) -> Mapping[str, str]:
    """Each applied migration's checksum; empty when the ledger does not exist yet."""
    try:
        rows = await conn.fetch(query("applied_migrations"))
    except asyncpg.UndefinedTableError:
        return {}
    except asyncpg.InsufficientPrivilegeError as exc:
        raise DatabaseError(
            f"cannot read {SCHEMA}.schema_migrations ({exc}): grant this role its rights "
            "with sql/roles.sql (README, Database roles)"
        ) from None
    return {r["version"]: r["checksum"] for r in rows}


async def check_schema(conn: asyncpg.Connection) -> None:
    """SchemaOutOfDate unless the database is at exactly the shipped migrations."""
    problem = schema_problem(await applied_versions(conn), migrations())
    if problem:
        raise SchemaOutOfDate(problem)
