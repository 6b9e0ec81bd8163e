"""Vendor credentials out of every record before it is hashed, stored, logged or rejected.

A source declares what in its records is secret (`Redaction`, next to its normalizer); an
account may add to it. A `Redactor` replaces, in one record:

- the whole value of each declared field: a dotted path (`PushArgs`, `RecentPullInfo.FileUrl`),
  lists on the way walked, so `SourceUrls` means each of its URLs;
- the whole value of each field whose name looks like a credential (`Token`, `StreamKey`);
- in every string, wherever it lies: the user and password of a URL (`rtmp://user:pw@host/`),
  and the value of each `name=value` parameter whose name looks like a credential
  (`credential_name`), or is `txTime` beside a `txSecret`.

Every string is scanned, not only declared URL fields: vendors add fields without notice and a
rejected record may keep its payload as text, so a list would miss some; a credential-named
parameter is a credential whichever field holds it; and a string holding neither `=` nor `://`
costs two `in` tests.

A replaced value becomes `redacted:hmac-sha256:<16 hex>`, keyed by a secret of our own: one value
always reads the same (a rotation is still a change in history, a re-read is none), and neither
can be read back or guessed without the key. A value already in that form is kept, so redacting
twice changes nothing. The rest of the record stays as served: the same objects, even.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

KEY_ENV = "PIPELINE_REDACTION_KEY"
MIN_KEY_CHARS = 16
PREFIX = "redacted:hmac-sha256:"
DIGEST_HEX = 16
# A name, lower-cased without `_`, `-`, `.` and a plural `s`, that ends with one of these.
CREDENTIAL_ENDINGS = (
    "secret", "token", "key", "password", "passwd", "pwd", "sign", "signature", "sig",
    "credential", "authorization", "auth", "jwt",
)  # fmt: skip
# Harmless alone; beside its signature a sample for a dictionary attack on the key that signed
# it (Tencent: txSecret = MD5(key + stream + txTime)).
COMPANIONS = {"txtime": "txsecret", "wstime": "wssecret"}

# Possessive runs that start only where a name may: linear time on any text, hostile included.
_PARAM = re.compile(r"""(?<![\w.\-])([A-Za-z_][\w.\-]*+)=([^&#\s"'<>\\,;]*+)""")
# To the last `@` of the authority, so a password written with a raw `@` is covered.
_USERINFO = re.compile(r"""(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*+://)([^/?#\s"'<>\\]*)@""")
_NOT_NAME = str.maketrans("", "", "_-.")
_CACHED = 4096

FieldPath = Annotated[str, Field(pattern=r"^[^.\s]+(\.[^.\s]+)*$")]
ParameterName = Annotated[str, Field(pattern=r"^[^=&#?\s]+$")]


@dataclass(frozen=True, slots=True)
class Redaction:
    """What a source's records hold secret beyond what every string is scanned for."""

    fields: tuple[str, ...] = ()
    """Dotted paths whose whole value is replaced."""
    parameters: tuple[str, ...] = ()
    """Parameter names that are credentials although the rule does not say so."""

    def __or__(self, other: Redaction) -> Redaction:
        return Redaction(
            tuple(dict.fromkeys(self.fields + other.fields)),
            tuple(dict.fromkeys(self.parameters + other.parameters)),
        )


class AccountRedaction(BaseModel):
    """An account's `redact:` key: field paths and parameter names to redact besides its
    vendor's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[FieldPath, ...] = ()
    parameters: tuple[ParameterName, ...] = ()

    def declared(self) -> Redaction:
        return Redaction(self.fields, self.parameters)


@lru_cache(maxsize=4096)
def credential_name(name: str) -> bool:
    """Whether a field or parameter called `name` holds a credential, by its name alone:
    `txSecret`, `auth_key`, `access_token`, `X-Amz-Signature`, `StreamKeys`; not `TokenType`."""
    return _folded(name).removesuffix("s").endswith(CREDENTIAL_ENDINGS)


def _folded(name: str) -> str:
    return name.lower().translate(_NOT_NAME)


class Redactor:
    """Replaces the credentials of records with keyed digests; pure, and safe to share."""

    def __init__(self, key: bytes, redaction: Redaction = Redaction()) -> None:
        if not key:
            raise ValueError("a redaction key must not be empty")
        self._key = key
        self._paths = [tuple(path.split(".")) for path in redaction.fields]
        self._extra = frozenset(_folded(name) for name in redaction.parameters)
        # Field names and secrets recur on every page and every run: each is worked out once
        # (both caches are bounded, whatever names and values hostile records bring).
        self._names: dict[str, bool] = {}
        self._digests: dict[str, str] = {}

    def digest(self, value: str) -> str:
        """`value` as `redacted:hmac-sha256:<16 hex>`; a digest already is one."""
        if value.startswith(PREFIX):
            return value
        known = self._digests.get(value)
        if known is None:
            data = value.encode("utf-8", "surrogatepass")
            known = PREFIX + hmac.new(self._key, data, hashlib.sha256).hexdigest()[:DIGEST_HEX]
            if len(self._digests) >= _CACHED:
                self._digests.clear()
            self._digests[value] = known
        return known

    def record(self, raw: Any) -> Any:
        """`raw` with its credentials replaced; `raw` itself, when it holds none."""
        for path in self._paths:
            raw = self._at(raw, path)
        return self._scan(raw)

    def text(self, text: str) -> str:
        """`text` with URL users and passwords and credential parameters replaced."""
        if "://" in text and "@" in text:
            replaced, count = _USERINFO.subn(self._userinfo, text)
            text = replaced if count and replaced != text else text
        return self._parameters(text) if "=" in text else text

    def _at(self, value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, list):
            items = [self._at(item, path) for item in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if not path:
            return self._whole(value)
        if not isinstance(value, dict) or path[0] not in value:
            return value
        inner = value[path[0]]
        new = self._at(inner, path[1:])
        return value if new is inner else {**value, path[0]: new}

    def _whole(self, value: Any) -> Any:
        """A secret field's value, replaced whole; nothing ("", [], {}) and flags stay."""
        if value is None or isinstance(value, bool) or value in ("", [], {}):
            return value
        if isinstance(value, str):
            return self.digest(value)
        if isinstance(value, list):
            items = [self._whole(item) for item in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        # Keys sorted: the digest must not depend on the order jsonb gives them back in.
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return self.digest(text)

    def _scan(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value) if "=" in value or "://" in value else value
        if isinstance(value, dict):
            changed: dict[Any, Any] | None = None
            names = self._names
            for name, item in value.items():
                secret = names.get(name)
                if secret is None:
                    secret = self._credential(name)
                if secret:
                    new = self._whole(item)
                elif type(item) is str:  # most values: two `in` tests, no call
                    if "=" not in item and "://" not in item:
                        continue
                    new = self.text(item)
                elif isinstance(item, dict | list):
                    new = self._scan(item)
                else:
                    continue
                if new is not item:
                    changed = dict(value) if changed is None else changed
                    changed[name] = new
            return value if changed is None else changed
        if isinstance(value, list):
            items = [self._scan(item) for item in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value

    def _credential(self, name: Any) -> bool:
        known = self._names.get(name)
        if known is None:
            known = isinstance(name, str) and (
                credential_name(name) or _folded(name) in self._extra
            )
            if len(self._names) >= _CACHED:
                self._names.clear()
            self._names[name] = known
        return known

    def _userinfo(self, match: re.Match[str]) -> str:
        scheme, userinfo = match.groups()
        return f"{scheme}{self.digest(userinfo)}@" if userinfo else match.group()

    def _parameters(self, text: str) -> str:
        found = list(_PARAM.finditer(text))
        if not found:
            return text
        names = {_folded(m.group(1)) for m in found}
        pieces: list[str] = []
        last = 0
        for match in found:
            name, value = match.groups()
            if not value or value.startswith(PREFIX) or not self._secret(name, names):
                continue
            pieces += [text[last : match.start(2)], self.digest(value)]
            last = match.end(2)
        return text if not pieces else "".join(pieces) + text[last:]

    def _secret(self, name: str, beside: Iterable[str]) -> bool:
        companion = COMPANIONS.get(_folded(name))
        return self._credential(name) or (companion is not None and companion in beside)
