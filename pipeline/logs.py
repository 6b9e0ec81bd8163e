"""structlog setup: JSON lines or console, run/account/API context, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import quote

import structlog
from structlog.typing import EventDict, WrappedLogger

from pipeline.dsn import KV_PASSWORD

MASK = "***"
_SECRET_KEYS = frozenset({"authorization", "password"})
# Vendors sign with hex digests (Tencent and Volcengine headers, ZEGO query strings).
_SIGNATURE = re.compile(r"(?i)(\bSignature=)[0-9a-f]+")
_AUTHORIZATION = re.compile(
    r"""(?i)(\bauthorization['"]?\s*[:=]\s*)(?:(['"])(?:(?!\2).)*\2|[^\r\n]*)"""
)
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]*(@)")


class Redactor:
    """A processor that masks secrets in every value of the event dict, at any depth."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants = {form for secret in secrets if secret for form in (secret, quote(secret, ""))}
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(variants, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        """Mask one event: every key and value, before it is rendered."""
        return {self._key(key): self._value(key, value) for key, value in event_dict.items()}

    def text(self, text: str) -> str:
        """`text` with secrets, signatures, Authorization values and DSN passwords masked."""
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        text = _SIGNATURE.sub(rf"\1{MASK}", text)
        text = _AUTHORIZATION.sub(_mask_authorization, text)
        text = _URL_PASSWORD.sub(rf"\1{MASK}\2", text)
        return KV_PASSWORD.sub(rf"\1{MASK}", text)

    def _key(self, key: Any) -> Any:
        return self.text(key) if isinstance(key, str) else key

    def _value(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and key.lower() in _SECRET_KEYS and value is not None:
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {self._key(k): self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(None, item) for item in value]
        # Renderers would repr() anything else, exceptions included: mask that text instead.
        return self.text(repr(value))


def _mask_authorization(match: re.Match[str]) -> str:
    quote_char = match.group(2) or ""
    return f"{match.group(1)}{quote_char}{MASK}{quote_char}"


def wants_json(json: bool | None) -> bool:
    """JSON when asked, or by default when stdout is not a terminal (a scheduler, a pipe)."""
    return json if json is not None else not sys.stdout.isatty()


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (it may be swapped after configuring)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    *,
    json: bool | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    level: str = "info",
) -> None:
    """Route structlog to `stream` (stderr by default), redacting `secrets`; safe to call again."""
    stream = _Stderr() if stream is None else stream  # type: ignore[assignment]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if wants_json(json)
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Exceptions become text here so that the redactor sees their messages.
            structlog.processors.format_exc_info,
            Redactor(secrets),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level_number(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def bind_run(run_id: str) -> None:
    """Put `run_id` on every following log line of this context."""
    structlog.contextvars.bind_contextvars(run_id=run_id)


@contextmanager
def bound(*, account: str | None = None, api: str | None = None, **extra: Any) -> Iterator[None]:
    """Put `account`, `api` and `extra` on every log line inside the block."""
    values = {"account": account, "api": api, **extra}
    with structlog.contextvars.bound_contextvars(
        **{key: value for key, value in values.items() if value is not None}
    ):
        yield


def _level_number(level: str) -> int:
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    return number
