"""Helpers shared by the built-in debugger rules."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any, TypeGuard

from sagebox.debugger.data import DebugData

#: scalar names in SageMaker's ``losses`` collection: ``loss`` or any name ending in it
LOSS_REGEX = r"(?i)(.*[_:./ -])?loss"
#: p95 - p5 of a normal distribution, in standard deviations (2 × 1.645)
_P5_P95_SPREAD = 3.29
#: ClassImbalance skips a class with fewer samples than this in its misprediction window
_MIN_CLASS_SAMPLES = 10


# -- helpers ---------------------------------------------------------------------------------


def _patterns(value: Any) -> list[str]:
    """Regexes or names given as a list or a comma-separated string (None: none)."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple | set) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _finite(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and math.isfinite(value)


def _round(value: float) -> float:
    return float(f"{value:.6g}") if math.isfinite(value) else value


def _select_scalars(
    data: DebugData, patterns: list[str], mode: str | None
) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series (per name) whose name matches one of ``patterns``."""
    out: dict[str, list[tuple[int, float]]] = {}
    for pattern in patterns:
        for name, series in data.scalar_series(pattern, mode).items():
            out.setdefault(name, series)
    return out


def _loss_series(
    data: DebugData, patterns: list[str], mode: str | None
) -> tuple[str, list[tuple[int, float]]] | None:
    """The one loss series a rule compares: among the scalars matching ``patterns`` (loss-like
    names by default) in ``mode``, the one with the most finite values (then the shortest
    name); its finite values averaged per step."""
    candidates = _select_scalars(data, patterns or [LOSS_REGEX], mode)
    best: tuple[str, list[tuple[int, float]]] | None = None
    for name, series in candidates.items():
        finite = _per_step_mean(series)
        if not finite:
            continue
        if best is None or (len(finite), -len(name)) > (len(best[1]), -len(best[0])):
            best = (name, finite)
    return best


def _per_step_mean(series: list[tuple[int, float]]) -> list[tuple[int, float]]:
    sums: dict[int, list[float]] = {}
    for step, value in series:
        if math.isfinite(value):
            sums.setdefault(step, []).append(value)
    return [(step, math.fsum(values) / len(values)) for step, values in sorted(sums.items())]


def _by_step(summaries: dict[str, list[dict[str, Any]]]) -> dict[int, dict[str, dict[str, Any]]]:
    """``{step: {tensor name: summary}}``, steps in increasing order."""
    out: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for name, items in summaries.items():
        for summary in items:
            out[summary["step"]][name] = summary
    return dict(sorted(out.items()))


def _magnitude(summary: dict[str, Any]) -> float:
    """Root mean square of a tensor's values (an upper bound of their mean absolute value):
    ``norm / sqrt(size)``, else ``|mean|``."""
    norm, size = summary.get("norm"), summary.get("size")
    if _finite(norm) and isinstance(size, int | float) and size > 0:
        return float(norm) / math.sqrt(size)
    mean = summary.get("mean")
    return abs(float(mean)) if _finite(mean) else math.nan


# -- rules -----------------------------------------------------------------------------------


def _is_loss(name: str) -> bool:
    return re.fullmatch(LOSS_REGEX, name) is not None


def _fullmatch(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def _label(value: Any) -> int | None:
    """A class id from a label or prediction: an int, or the arg-max of a score vector."""
    if isinstance(value, list | tuple):
        scores = [float(v) for v in value if isinstance(v, int | float)]
        return max(range(len(scores)), key=lambda i: scores[i]) if scores else None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value)
    return None
