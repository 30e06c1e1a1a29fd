"""Vectorised building blocks shared by the metric modules.

Every metric is computed from count arrays with any number of leading batch dimensions (facet
values, bootstrap resamples), so one call evaluates a metric for all facet values at once.
A metric that Clarify cannot compute for some entry (it raises there, and its report shows the
metric with ``value: null`` and an ``error``) is NaN in ``values`` with the reason in
``errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MetricArray",
    "both_infinite_is_zero",
    "clarify_divide",
    "json_value",
    "with_errors",
]

INF = float("inf")


@dataclass(frozen=True)
class MetricArray:
    """Values of one metric for a batch of facet groups.

    Attributes:
        values: float64 array; NaN where the metric is undefined.
        errors: object array of the same shape: ``None`` or why the value is undefined.
    """

    values: np.ndarray
    errors: np.ndarray

    def item(self, index: int) -> tuple[float | None, str | None]:
        """The value (``None`` when undefined) and error of entry ``index`` of a 1-D batch."""
        error = self.errors[index]
        return (None, str(error)) if error is not None else (float(self.values[index]), None)


def clarify_divide(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """``a / b`` with Clarify's convention: 0/0 is 0, x/0 is +inf (or -inf for x < 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    zero = b == 0
    if np.any(zero):
        out = np.where(zero, np.where(a == 0, 0.0, np.where(a < 0, -INF, INF)), out)
    return out


def with_errors(values: ArrayLike, *conditions: tuple[ArrayLike, str]) -> MetricArray:
    """Attach errors to ``values``: the first condition that holds for an entry wins.

    Args:
        values: computed values (garbage where a condition holds).
        conditions: ``(mask, message)`` pairs in the order Clarify checks them.
    """
    values = np.array(values, dtype=np.float64)
    errors = np.full(values.shape, None, dtype=object)
    undefined = np.zeros(values.shape, dtype=bool)
    for mask, message in reversed(conditions):
        where = np.broadcast_to(np.asarray(mask, dtype=bool), values.shape)
        errors[where] = message
        undefined |= where
    values[undefined] = np.nan
    return MetricArray(values=values, errors=errors)


def both_infinite_is_zero(diff: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Clarify's rule for differences of ratios: when both ratios are +inf the difference is 0."""
    return np.where((x == INF) & (y == INF), 0.0, diff)


def json_value(value: float | None) -> float | str | None:
    """A value for JSON: Clarify writes infinities as the strings "Infinity" / "-Infinity"."""
    if value is None:
        return None
    if np.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)
