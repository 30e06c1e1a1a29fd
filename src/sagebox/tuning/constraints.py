"""Constraints a best trial must meet: ``"metric<=value"`` or ``"metric>=value"``.

A constraint names a metric of the trial (one it emits, or one the tuner measures after it
ends: ``bias:<METRIC>`` from sagebox's Clarify code on the validation channel, with an optional
facet ``bias:<METRIC>[column=value]`` (default: the ``product_category`` value with the fewest
validation rows; see :mod:`sagebox.tuning._measures`),
``latency_p50_ms`` / ``latency_p90_ms`` from the model's single-review predictions,
``model_size_bytes`` from its archive). A trial that breaks one, or for which the metric is
missing, is *infeasible*: it stays in the trial table but cannot be the best (Optuna's
constrained samplers also learn from the violation).

Example:
    >>> parse_constraint("bias:DPPL<=0.1")
    Constraint(metric='bias:DPPL', op='<=', limit=0.1)
    >>> parse_constraint("latency_p50_ms <= 20").violation(25.0)
    5.0
    >>> parse_constraint("bias:DI[product_category=Dresses]>=0.8").metric
    'bias:DI[product_category=Dresses]'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sagebox.errors import InputDataError

__all__ = ["Constraint", "parse_constraint"]

_PATTERN = re.compile(r"^\s*([A-Za-z0-9_:./-]+(?:\[[^\]]*\])?)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric op limit`` with ``op`` one of ``<=`` and ``>=``."""

    metric: str
    op: str
    limit: float

    def violation(self, value: float | None) -> float:
        """How far ``value`` is outside the limit (0 when met; inf when missing or NaN)."""
        if value is None or not math.isfinite(value):
            return math.inf
        excess = value - self.limit if self.op == "<=" else self.limit - value
        return max(0.0, excess)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"


def parse_constraint(text: str) -> Constraint:
    """Read ``"metric<=value"`` / ``"metric>=value"``.

    Raises:
        InputDataError: if the text is not of that form, or names a ``bias:`` metric that
            Clarify does not compute for a model's predictions.
    """
    match = _PATTERN.match(str(text))
    if match is None:
        raise InputDataError(
            f"bad constraint {text!r}",
            hint='write "metric<=value" or "metric>=value", e.g. "bias:DPPL<=0.1"',
        )
    try:
        limit = float(match.group(3))
    except ValueError as exc:
        raise InputDataError(f"bad constraint {text!r}: {exc}", hint="give a number") from exc
    from sagebox.tuning._measures import check_measured_metric

    check_measured_metric(match.group(1))
    return Constraint(match.group(1), match.group(2), limit)
