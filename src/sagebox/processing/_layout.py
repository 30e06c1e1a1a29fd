"""The local directories of one processing worker (its stand-in for the container's ``/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WorkerLayout"]


@dataclass
class WorkerLayout:
    """One worker's directories."""

    host: str
    root: Path
    inputs: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
