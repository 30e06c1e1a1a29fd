"""The local directories of one processing worker (its stand-in for the container's ``/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WorkerLayout", "env_name", "map_argument"]


@dataclass
class WorkerLayout:
    """One worker's directories."""

    host: str
    root: Path
    inputs: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)


def env_name(name: str) -> str:
    """An input or output name in an environment variable name (``my-data`` → ``MY_DATA``)."""
    return name.upper().replace("-", "_")


def map_argument(argument: str, root: Path | str) -> str:
    """``/opt/ml/x`` → ``<root>/opt/ml/x`` (also in ``--flag=/opt/ml/x``); others unchanged.

    ``root`` may be a placeholder such as ``{root}`` (filled in where the worker runs).
    """
    flag, eq, value = argument.partition("=")
    if eq and value.startswith("/opt/ml/"):
        return f"{flag}={_below(root, value)}"
    if argument.startswith("/opt/ml/") or argument == "/opt/ml":
        return _below(root, argument)
    return argument


def _below(root: Path | str, path: str) -> str:
    if isinstance(root, Path):
        return str(root / path.lstrip("/"))
    return f"{root.rstrip('/')}/{path.lstrip('/')}"
