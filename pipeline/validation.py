"""Pydantic validation for vendor records and settings, its errors told as one line per field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from pipeline.model import Rejection


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("has no UTC offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 in UTC") from None


UtcTime = Annotated[datetime, AfterValidator(_utc)]
"""A timestamp that must carry its offset (`Z`, `+08:00`...), converted to UTC."""
# The last second a datetime can hold: later Unix times are vendor mistakes (milliseconds?).
MAX_UNIX_SECONDS = 253_402_300_799

M = TypeVar("M", bound=BaseModel)


def location(loc: tuple[int | str, ...]) -> str:
    """A dotted path like `accounts[0].secret_key` from a pydantic error location."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def describe(exc: ValidationError) -> str:
    """`field: problem; other: problem` for every error in `exc`."""
    return "; ".join(f"{location(e['loc'])}: {e['msg']}" for e in exc.errors())


def validate(model: type[M], raw: Any) -> M | Rejection:
    """`raw` as a `model`, or a Rejection naming each bad field, keeping `raw` and its TaskId."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        task_id = raw.get("TaskId") if isinstance(raw, dict) else None
        return Rejection(describe(exc), raw, task_id if isinstance(task_id, str) else None)
