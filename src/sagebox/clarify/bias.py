"""Bias analysis: Clarify's ``analysis.json`` plus sagebox's multi-class extras.

Example:
    >>> from sagebox.clarify import BiasConfig, run_bias
    >>> result = run_bias(df, BiasConfig("sentiment", [1], "product_category"))  # doctest: +SKIP
    >>> result.analysis["pre_training_bias_metrics"]["facets"]["product_category"][0]
    {'value_or_threshold': 'Intimates', 'metrics': [{'name': 'CDDL', ...}, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sagebox.clarify._arrays import MetricArray, json_value
from sagebox.clarify._files import write_json, write_text
from sagebox.clarify._results import BiasResultData
from sagebox.clarify.config import BiasConfig
from sagebox.clarify.glossary import METRICS
from sagebox.clarify.matrix import multiclass_metrics, one_vs_rest, summarize
from sagebox.clarify.posttraining import flip_test, posttraining_metrics
from sagebox.clarify.prepare import PreparedData, cell_counts, prepare, split_facet
from sagebox.clarify.pretraining import pretraining_metrics
from sagebox.clarify.report import render_bias_report

__all__ = ["ANALYSIS_VERSION", "BiasResult", "json_value", "run_bias"]

ANALYSIS_VERSION = "1.0"


@dataclass
class BiasResult(BiasResultData):
    """The outcome of :func:`run_bias`.

    Attributes:
        analysis: Clarify's ``analysis.json`` content.
        details: sagebox's extras (``bias_details.json``): data summary, multi-class metrics,
            one-vs-rest matrix with bootstrap intervals, and flagged facet values.
        config: the configuration used.
    """

    def write(self, out_dir: str | Path, html: bool = True) -> dict[str, Path]:
        """Write ``analysis.json``, ``bias_details.json`` and ``report.html`` into ``out_dir``.

        Each file is written to a temporary name first and renamed, so a failure never leaves
        a half-written file.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "analysis": write_json(out / "analysis.json", self.analysis),
            "details": write_json(out / "bias_details.json", self.details),
        }
        if html:
            paths["report"] = write_text(out / "report.html", render_bias_report(self))
        return paths


def run_bias(df: pd.DataFrame, config: BiasConfig) -> BiasResult:
    """Compute pre-training (and, with predictions, post-training) bias metrics.

    Args:
        df: the data, one row per example (e.g. the course's sentiment table).
        config: label, facets, group and prediction columns.

    Returns:
        The result in Clarify's layout plus sagebox's extras.

    Raises:
        InputDataError: on unknown columns, values matching no row, or no positive prediction.
    """
    data = prepare(df, config)
    pre: dict[str, Any] = {}
    post: dict[str, Any] = {}
    for facet in data.facets:
        n_codes = facet.membership.shape[1]
        counts = cell_counts(
            facet.codes, n_codes, data.groups, data.n_groups, data.positive.astype(np.int64), 2
        )
        d, total = split_facet(facet, counts)
        pre[facet.name] = _entries(facet.labels, pretraining_metrics(d, total, data.has_group))
        if data.predicted is not None:
            cells = 2 * data.positive.astype(np.int64) + data.predicted.astype(np.int64)
            confusion = cell_counts(facet.codes, n_codes, data.groups, data.n_groups, cells, 4)
            d, total = split_facet(facet, confusion)
            metrics = posttraining_metrics(d, total, data.has_group)
            entries = _entries(facet.labels, metrics)
            _add_flip_test(entries, data, config, facet)
            post[facet.name] = entries
    analysis: dict[str, Any] = {"version": ANALYSIS_VERSION}
    analysis["pre_training_bias_metrics"] = _section(config, data, pre)
    if post:
        analysis["post_training_bias_metrics"] = _section(config, data, post)
    return BiasResult(analysis=analysis, details=_details(config, data, pre), config=config)


def _section(config: BiasConfig, data: PreparedData, facets: dict[str, Any]) -> dict[str, Any]:
    return {"label": config.label, "facets": facets, "label_value_or_threshold": data.label_text}


def _entries(labels: list[str], metrics: dict[str, MetricArray]) -> list[dict[str, Any]]:
    return [
        {
            "value_or_threshold": label,
            "metrics": [metric_entry(n, m, i) for n, m in metrics.items()],
        }
        for i, label in enumerate(labels)
    ]


def metric_entry(name: str, metric: MetricArray, index: int) -> dict[str, Any]:
    """One ``{name, description, value[, error]}`` entry, as Clarify writes it."""
    value, error = metric.item(index)
    entry: dict[str, Any] = {
        "name": name,
        "description": METRICS[name].description,
        "value": json_value(value),
    }
    if error is not None:
        entry["error"] = error
    return entry


def _add_flip_test(entries: list[dict[str, Any]], data, config, facet) -> None:  # type: ignore[no-untyped-def]
    excluded = {config.label, facet.name, config.predicted_label, config.probability}
    excluded |= set(config.excluded_columns)
    features = data.frame[[c for c in data.frame.columns if c not in excluded]]
    non_numeric = [
        str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c].dtype)
    ]
    matrix = None if non_numeric else features.to_numpy(dtype=np.float64)
    for index, entry in enumerate(entries):
        value: float | None = None
        error: str | None = None
        if non_numeric:
            error = "the flip test needs numeric feature columns; non-numeric: " + ", ".join(
                non_numeric[:5]
            )
        else:
            assert matrix is not None
            value, error = flip_test(matrix, facet.mask(index), data.predicted)
        item: dict[str, Any] = {
            "name": "FT",
            "description": METRICS["FT"].description,
            "value": json_value(value),
        }
        if error:
            item["error"] = error
        names = [m["name"] for m in entry["metrics"]]
        entry["metrics"].insert(int(np.searchsorted(names, "FT")), item)


def _details(config: BiasConfig, data: PreparedData, pre: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "data": {
            "rows": len(data.frame),
            "dropped_rows_with_missing_values": data.dropped_rows,
            "label": config.label,
            "label_value_or_threshold": data.label_text,
            "positive_rows": int(data.positive.sum()),
            "facets": {},
        }
    }
    for facet in data.facets:
        stats = []
        for index, label in enumerate(facet.labels):
            mask = facet.mask(index)
            row: dict[str, Any] = {
                "value_or_threshold": label,
                "rows": int(mask.sum()),
                "positive_rows": int((mask & data.positive).sum()),
            }
            if data.classes is not None:
                counts = np.bincount(data.classes[mask], minlength=len(data.class_names))
                row["label_counts"] = dict(zip(data.class_names, counts.tolist(), strict=True))
            stats.append(row)
        details["data"]["facets"][facet.name] = stats
    if data.classes is not None and len(data.class_names) >= 2:
        details["label_classes"] = data.class_names
        if config.multiclass:
            details["multiclass"] = multiclass_metrics(data)
        details["one_vs_rest"] = one_vs_rest(data, config.bootstrap, config.seed)
    details["summary"] = summarize(data, pre, details)
    return details
