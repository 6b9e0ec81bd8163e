"""Runs `pipeline` in a child process, as a scheduler would, against a sandbox in the test."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pipeline.vendors.base import AccountBase


def tencent_config(tmp_path: Path, url: str, secret_id: str, rate: float, extra: str = "") -> Path:
    """A config of one Tencent account on the sandbox at `url`; `extra` adds YAML lines."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "accounts:\n"
        "  - name: tencent-main\n"
        "    vendor: tencent\n"
        f"    secret_id: {secret_id}\n"
        "    secret_key: ${TENCENT_SECRET_KEY}\n"
        f"    endpoint: {url}\n"
        "    apis: [DescribeRecordTask]\n"
        f"    rate_limits: {{DescribeRecordTask: {rate}}}\n"
        "retry: {attempts: 5, initial_wait: 0.01, max_wait: 0.1}\n" + extra
    )
    return path


async def start(argv: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m pipeline ARGV` with `env` added to this process's environment."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipeline",
        *argv,
        "--log-format",
        "json",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def write_config(path: Path, accounts: Sequence[AccountBase], **sections: Any) -> Path:
    """A config.yaml of `accounts` with their secrets inline (fake ones, for twins) and the
    other `sections` as given; JSON is YAML. The redaction key and the database come from the
    environment."""
    items = []
    for account in accounts:
        item = account.model_dump(mode="json", exclude_defaults=True)
        item |= {
            k: v.get_secret_value() for k, v in vars(account).items() if isinstance(v, SecretStr)
        }
        items.append(item)
    path.write_text(json.dumps({"accounts": items, **sections}, indent=2), "utf-8")
    return path
