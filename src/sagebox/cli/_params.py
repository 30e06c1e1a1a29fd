"""Parsing of repeated ``NAME=VALUE`` command-line options (hyperparameters, channels, env)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagebox.backends.metadata.base import JobStatus

__all__ = ["parse_hyperparameters", "parse_job_status", "parse_pairs"]


def parse_pairs(values: list[str], what: str) -> dict[str, str]:
    """``NAME=VALUE`` options as a dict; ``what`` names the option in errors."""
    from sagebox.errors import InputDataError

    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputDataError(f"{what} {item!r} is not NAME=VALUE", hint=f"e.g. {what} a=1")
        out[key.strip()] = value
    return out


def parse_hyperparameters(values: list[str], as_json: str | None) -> dict[str, Any]:
    """``-H name=value`` pairs (values read as JSON when they parse, else strings)."""
    from sagebox.errors import InputDataError

    out: dict[str, Any] = {}
    if as_json:
        try:
            loaded = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise InputDataError(
                f"--hyperparameters is not JSON: {exc}", hint="e.g. '{\"epochs\": 2}'"
            ) from exc
        if not isinstance(loaded, dict):
            raise InputDataError("--hyperparameters must be a JSON object", hint='{"epochs": 2}')
        out.update(loaded)
    for key, raw in parse_pairs(values, "--hyperparameter").items():
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def parse_job_status(status: str | None) -> JobStatus | None:
    """A ``--status`` option as a :class:`JobStatus` (None when not given).

    Raises:
        InputDataError: naming the unknown status and the known ones.
    """
    from sagebox.backends.metadata.base import JobStatus
    from sagebox.errors import InputDataError

    try:
        return JobStatus(status) if status else None
    except ValueError:
        raise InputDataError(
            f"unknown status {status!r}",
            hint=f"use one of: {', '.join(s.value for s in JobStatus)}",
        ) from None
