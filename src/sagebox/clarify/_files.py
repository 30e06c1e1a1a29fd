"""Atomic file writers for Clarify's outputs (temp file, then rename)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_json", "write_text"]


def write_json(path: Path, value: Any) -> Path:
    """Write JSON atomically (temp file, then rename)."""
    return write_text(path, json.dumps(value, indent=2, allow_nan=False))


def write_text(path: Path, text: str) -> Path:
    """Write text atomically (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
