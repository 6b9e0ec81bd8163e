"""config.yaml as raw data: its YAML parsed, then `${VAR}` and `${VAR:-default}` expanded."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

Location = tuple[int | str, ...]
Missing = list[tuple[Location, str]]

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# `$$` is matched first so that `$${VAR}` stays exactly as written.
_REFERENCE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class UnsetVariables(Exception):
    """Some `${VAR}` without a default named a variable the environment does not set."""

    def __init__(self, missing: Missing) -> None:
        super().__init__(", ".join(name for _, name in missing))
        self.missing = missing


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in the YAML file at `path`, without its empty sections; ConfigError if none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found (see --config, PIPELINE_CONFIG)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read the config file: {reason}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Only the position and the problem, with anything it quotes masked: a literal secret
        # starting with `*` or `!` reads as an alias or a tag and would be quoted back.
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = _QUOTED.sub("'…'", getattr(exc, "problem", None) or "cannot be parsed")
        raise ConfigError(f"{path}: {where}YAML syntax error: {problem}") from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
        # PyYAML builds some values (!!int, !!timestamp, dates) with plain constructors that
        # raise; their messages quote the value, so they are not repeated.
        raise ConfigError(
            f"{path}: a YAML value cannot be built (a bad date, a !!tag, or lists nested too "
            "deep); quote values that are meant as text"
        ) from None
    if _cyclic(data):
        raise ConfigError(f"{path}: a YAML alias refers to the list or mapping that holds it")
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{path}: top level must be a mapping of sections; found {found}")
    # A section whose keys are all commented out parses as null: treat it as absent.
    return {key: value for key, value in data.items() if value is not None}


def _cyclic(data: Any, holding: frozenset[int] = frozenset()) -> bool:
    """Whether a list or mapping contains itself (a YAML alias can build one)."""
    if not isinstance(data, dict | list):
        return False
    if id(data) in holding:
        return True
    inner = holding | {id(data)}
    values = data.values() if isinstance(data, dict) else data
    return any(_cyclic(value, inner) for value in values)


def expand(data: Any, environ: Mapping[str, str]) -> Any:
    """A copy of `data` with every string value expanded; raises UnsetVariables listing all gaps."""
    missing: Missing = []
    result = _walk(data, environ, (), missing)
    if missing:
        raise UnsetVariables(missing)
    return result


def _walk(data: Any, environ: Mapping[str, str], loc: Location, missing: Missing) -> Any:
    if isinstance(data, str):
        return _expand_string(data, environ, loc, missing)
    if isinstance(data, dict):
        return {key: _walk(value, environ, (*loc, key), missing) for key, value in data.items()}
    if isinstance(data, list):
        return [_walk(value, environ, (*loc, index), missing) for index, value in enumerate(data)]
    return data


def _expand_string(text: str, environ: Mapping[str, str], loc: Location, missing: Missing) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name is None:
            return match.group(0)
        value = environ.get(name)
        if default is not None:
            # As in the shell: `:-` also replaces a variable that is set but empty.
            return value or default
        if value is None:
            missing.append((loc, name))
            return ""
        return value

    return _REFERENCE.sub(replace, text)
