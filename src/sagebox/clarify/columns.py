"""Turning label, facet and prediction columns into the boolean groups the metrics need.

Follows SageMaker Clarify's rules (``smclarify`` 0.5 ``bias/report.py`` and
``metrics/common.py``):

* a column is *continuous* if it is float, or integer (or integer-like text) with at least 5%
  distinct values, unless it is categorical dtype or more than one value was given; otherwise
  *categorical*;
* categorical: positive / facet d = the value is one of the given values; with no facet values,
  one group per distinct value (in order of first appearance), each against the rest;
* continuous: one threshold ``t``; positive / facet d = the value lies in ``(t, max]``, written
  as the interval, e.g. ``(40, 99]``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sagebox.errors import InputDataError

__all__ = ["FacetGroups", "binarize", "column_kind", "facet_groups", "require_column"]

UNIQUENESS_THRESHOLD = 0.05


def require_column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The column ``name``, or an error naming close matches.

    Raises:
        InputDataError: if the column does not exist.
    """
    if name in df.columns:
        return df[name]
    columns = [str(c) for c in df.columns]
    close = difflib.get_close_matches(name, columns, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    raise InputDataError(
        f"{role} column {name!r} not found",
        hint=f"{hint}columns: {', '.join(columns[:20])}{' ...' if len(columns) > 20 else ''}",
    )


def column_kind(series: pd.Series, values: Sequence[Any] | None) -> str:
    """``"categorical"`` or ``"continuous"`` by Clarify's rules (see module docstring)."""
    if isinstance(series.dtype, pd.CategoricalDtype) or (values is not None and len(values) > 1):
        return "categorical"
    count = int(series.count())
    unique_share = series.nunique() / count if count else 0.0
    if pd.api.types.is_bool_dtype(series.dtype):
        return "categorical"
    if pd.api.types.is_float_dtype(series.dtype):
        return "continuous"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "continuous" if unique_share >= UNIQUENESS_THRESHOLD else "categorical"
    numbers = pd.to_numeric(series, errors="coerce")
    integer_like = numbers.notna().all() and bool((numbers % 1 == 0).all())
    return "continuous" if integer_like and unique_share >= UNIQUENESS_THRESHOLD else "categorical"


def _coerce(series: pd.Series, values: Sequence[Any]) -> tuple[Any, ...]:
    """Values converted to the column's type when they do not match as given ("1" vs 1)."""
    present = set(series.dropna().unique().tolist())
    if any(v in present for v in values):
        return tuple(values)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        converted = []
        for v in values:
            try:
                number = float(v)
            except (TypeError, ValueError):
                converted.append(v)
                continue
            converted.append(int(number) if number.is_integer() else number)
        return tuple(converted)
    if pd.api.types.is_bool_dtype(series.dtype):
        return tuple(str(v).strip().lower() in ("1", "true", "yes") for v in values)
    return tuple(str(v) for v in values)


def _interval(series: pd.Series, threshold: Any, role: str) -> pd.Interval | None:
    """Clarify's interval ``(t, max]`` (``None`` when ``|max| == t``: nothing is selected)."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number):
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise InputDataError(
                f"{role} column {series.name!r} is continuous, so its value must be one "
                f"numeric threshold, got {threshold!r}",
                hint="give one number (rows above it are selected), or several category values",
            ) from None
    top = series.max()
    breaks = [threshold] if abs(top) == threshold else [threshold, top]
    index = pd.IntervalIndex.from_breaks(sorted(breaks))
    return index[0] if len(index) else None


def binarize(
    series: pd.Series, values: Sequence[Any], role: str, kind: str | None = None
) -> tuple[np.ndarray, str, str]:
    """Rows whose value is positive (label) or in the facet, per Clarify's rules.

    Args:
        series: the column (no missing values).
        values: the configured values, or one threshold.
        role: ``"label"``, ``"facet"`` or ``"predicted label"`` (for messages).
        kind: force ``"categorical"``/``"continuous"`` (default: :func:`column_kind`).

    Returns:
        ``(mask, value_or_threshold string, kind)``.

    Raises:
        InputDataError: if no row matches the values.
    """
    kind = kind or column_kind(series, values)
    if kind == "continuous":
        interval = _interval(series, values[0], role)
        if interval is None:
            mask = np.zeros(len(series), dtype=bool)
            text = ""
        else:
            x = pd.to_numeric(series).to_numpy()
            mask = (x > interval.left) & (x <= interval.right)
            text = str(interval)
    else:
        coerced = _coerce(series, values)
        mask = series.isin(coerced).to_numpy()
        text = ",".join(map(str, coerced))
    if not mask.any() and role != "predicted label":
        present = [str(v) for v in series.dropna().unique().tolist()]
        close = sorted({m for v in values for m in difflib.get_close_matches(str(v), present)})
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        shown = ", ".join(present[:20]) + (" ..." if len(present) > 20 else "")
        if kind == "continuous":
            wanted = f"in the interval {text or f'above {values[0]!r}'}"
            hint = (
                f"{series.name!r} counts as continuous (numbers with at least 5% distinct "
                "values, Clarify's rule), so one value is a threshold: rows above it are "
                "selected; "
            )
        else:
            wanted = f"equal to {', '.join(map(repr, values))}"
        raise InputDataError(
            f"no row has {role} {series.name!r} {wanted}",
            hint=f"{hint}values present: {shown}",
        )
    return mask, text, kind


@dataclass(frozen=True)
class FacetGroups:
    """The facet-d groups of one facet column.

    Attributes:
        name: the facet column.
        codes: per row, the index of its distinct facet value (or 0/1 outside/inside an
            interval).
        membership: ``(groups, codes)`` booleans: which codes make up each group's facet d.
        labels: each group's ``value_or_threshold`` string.
    """

    name: str
    codes: np.ndarray
    membership: np.ndarray
    labels: list[str]

    def mask(self, index: int) -> np.ndarray:
        """Row mask of facet d of group ``index``."""
        return self.membership[index][self.codes]


def facet_groups(series: pd.Series, values: Sequence[Any] | None) -> FacetGroups:
    """The facet-d groups of a facet column (see module docstring).

    Raises:
        InputDataError: if given values match no row, or a continuous column has no threshold.
    """
    name = str(series.name)
    if column_kind(series, values) == "continuous":
        if values is None:
            raise InputDataError(
                f"facet column {name!r} is continuous (numbers with many distinct values)",
                hint="give one threshold with --facet-values (rows above it form the facet)",
            )
        mask, text, _ = binarize(series, values, "facet", kind="continuous")
        return FacetGroups(name, mask.astype(np.int64), np.array([[False, True]]), [text])
    codes, uniques = pd.factorize(series, sort=False)
    if values is None:
        return FacetGroups(name, codes, np.eye(len(uniques), dtype=bool), [str(u) for u in uniques])
    mask, text, _ = binarize(series, values, "facet", kind="categorical")
    member = np.zeros(len(uniques), dtype=bool)
    member[np.unique(codes[mask])] = True
    return FacetGroups(name, codes, member[None, :], [text])
