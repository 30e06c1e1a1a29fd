"""Kernel SHAP explanations of tabular models (via the ``shap`` library) and their outputs.

Clarify's ``analysis.json`` holds global values under ``explanations.kernel_shap.<label>``
(``global_shap_values`` per feature and ``expected_value``); per-row values go to
``local_explanations.jsonl`` (one JSON object per explained row).

Example:
    >>> from sagebox.clarify import ShapConfig, explain_tabular
    >>> cfg = ShapConfig(num_samples=100)
    >>> result = explain_tabular(model.predict_proba, X, cfg)  # doctest: +SKIP
    >>> result.global_importance["label1"]  # doctest: +SKIP
    {'age': 0.12, 'income': 0.05}
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sagebox.clarify._files import write_json, write_text
from sagebox.clarify._results import ExplanationData
from sagebox.clarify.config import ShapConfig
from sagebox.clarify.explain_report import render_explain_report
from sagebox.errors import InputDataError

__all__ = ["Explanation", "aggregate", "explain_tabular", "numpy_seed"]


@dataclass
class Explanation(ExplanationData):
    """SHAP explanations of a model (fields: see :class:`ExplanationData`) that can be written."""

    def write(self, out_dir: str | Path, html: bool = True) -> dict[str, Path]:
        """Write ``analysis.json``, ``local_explanations.jsonl`` (and ``report.html``)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        analysis = self.analysis
        if self.top_words:
            analysis["explanations"]["kernel_shap_top_words"] = self.top_words
        paths = {
            "analysis": write_json(out / "analysis.json", analysis),
            "local": write_text(
                out / "local_explanations.jsonl",
                "".join(json.dumps(r, allow_nan=False) + "\n" for r in self.local),
            ),
        }
        if html:
            paths["report"] = write_text(out / "report.html", render_explain_report(self))
        return paths


def aggregate(values: np.ndarray, method: str) -> np.ndarray:
    """Global SHAP values from local ones (rows on axis 0), as Clarify's ``agg_method``."""
    if method == "mean_abs":
        return np.abs(values).mean(axis=0)
    if method == "median":
        return np.median(values, axis=0)
    if method == "mean_sq":
        return (values**2).mean(axis=0)
    raise ValueError(f"unknown agg_method {method!r}")


@contextmanager
def numpy_seed(seed: int):  # type: ignore[no-untyped-def]
    """Seed numpy's global generator (which shap's KernelExplainer samples from) temporarily."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _as_2d(output: Any) -> np.ndarray:
    array = np.asarray(output, dtype=np.float64)
    return array[:, None] if array.ndim == 1 else array


def explain_tabular(
    predict: Callable[[pd.DataFrame], Any],
    data: pd.DataFrame,
    config: ShapConfig | None = None,
    rows: pd.DataFrame | None = None,
    label_names: Sequence[str] | None = None,
) -> Explanation:
    """Kernel SHAP values of a tabular model's outputs for each row.

    Args:
        predict: maps a DataFrame with ``data``'s columns to probabilities ``(n, classes)`` or
            scores ``(n,)`` (e.g. ``model.predict_proba``).
        data: numeric feature columns; the K-means baseline is computed from it.
        config: SHAP settings (baseline rows, num_samples, agg_method, use_logit, seed).
        rows: the rows to explain (default: all of ``data``).
        label_names: names of the outputs (default ``label0``, ``label1``, ...).

    Raises:
        InputDataError: if a column is not numeric or there is nothing to explain.
    """
    import shap

    config = config or ShapConfig()
    rows = data if rows is None else rows
    non_numeric = [str(c) for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    if non_numeric:
        raise InputDataError(
            f"Kernel SHAP needs numeric features; not numeric: {', '.join(non_numeric)}",
            hint="encode them as numbers first, or drop them",
        )
    if rows.empty or data.empty:
        raise InputDataError("nothing to explain: no rows", hint="give at least one row")
    columns = list(data.columns)

    def model(x: np.ndarray) -> np.ndarray:
        return _as_2d(predict(pd.DataFrame(x, columns=columns)))

    if config.baseline is not None:
        baseline: Any = np.asarray(pd.DataFrame(config.baseline).to_numpy(), dtype=np.float64)
        baseline_text = f"{len(baseline)} given baseline row(s)"
    else:
        k = min(config.num_clusters, len(data))
        with numpy_seed(config.seed):
            baseline = shap.kmeans(data.to_numpy(dtype=np.float64), k)
        baseline_text = f"K-means summary of the data ({k} centres)"
    link = "logit" if config.use_logit else "identity"
    explainer = shap.KernelExplainer(model, baseline, link=link)
    x = rows[columns].to_numpy(dtype=np.float64)
    with numpy_seed(config.seed), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Linear regression equation is singular")
        raw = explainer.shap_values(x, nsamples=config.num_samples, l1_reg=False, silent=True)
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]  # (rows, features, outputs)
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    names = list(label_names) if label_names else [f"label{i}" for i in range(values.shape[2])]
    glob = aggregate(values, config.agg_method)
    local = [
        {
            "index": int(i),
            "features": {c: _num(rows[c].iloc[i]) for c in columns},
            "shap_values": {
                name: {c: float(values[i, j, k]) for j, c in enumerate(columns)}
                for k, name in enumerate(names)
            },
        }
        for i in range(len(rows))
    ]
    return Explanation(
        kind="tabular",
        label_names=names,
        expected_values=[float(v) for v in expected],
        global_importance={
            name: dict(
                sorted(
                    ((c, float(glob[j, k])) for j, c in enumerate(columns)),
                    key=lambda kv: -abs(kv[1]),
                )
            )
            for k, name in enumerate(names)
        },
        local=local,
        config=config,
        info={"baseline": baseline_text, "shap_version": shap.__version__, "rows": len(rows)},
    )


def _num(value: Any) -> float | int | str:
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)
