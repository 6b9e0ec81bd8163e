"""Loads the vendors' signing test vectors from ../shared/vendors/vectors (or a copy in tests/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_CANDIDATES = [
    Path(__file__).resolve().parent.parent.parent / "shared" / "vendors" / "vectors",
    Path(__file__).resolve().parent / "data" / "vectors",
]


def vectors_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no vectors directory in {[str(c) for c in _CANDIDATES]}")


def load_vectors(prefix: str) -> list[dict[str, Any]]:
    """Every vector file whose name starts with `prefix`, parsed."""
    return [json.loads(p.read_text()) for p in sorted(vectors_dir().glob(f"{prefix}*.json"))]
