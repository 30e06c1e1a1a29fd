"""Beyond Clarify: multi-class metrics, a one-vs-rest matrix with bootstrap intervals, a summary.

* **Multi-class**: KL, JS, LP, TVD and KS over the full label distribution (e.g. the three
  sentiment classes) instead of "positive vs not", with Clarify's shared-values convention.
* **One-vs-rest**: every label-dependent pre-training metric with each label value in turn as
  the positive class, with a percentile bootstrap 95% interval. Resampling rows with
  replacement is the same as drawing the (facet value, group, label) cell counts from a
  multinomial with the observed cell shares, so each resample costs one small draw instead of
  a pass over the data.
* **Summary**: the facet values with the largest label imbalance, the most different share of
  each label value, and facet values too small to trust.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sagebox.clarify._arrays import json_value
from sagebox.clarify.glossary import METRICS
from sagebox.clarify.prepare import PreparedData, cell_counts, split_facet
from sagebox.clarify.pretraining import (
    DISTRIBUTION_METRICS,
    distribution_metrics,
    pretraining_metrics,
)

__all__ = ["ONE_VS_REST_METRICS", "multiclass_metrics", "one_vs_rest", "summarize"]

ONE_VS_REST_METRICS = ("DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
SMALL_GROUP_SHARE = 0.005
SMALL_GROUP_ROWS = 30


def multiclass_metrics(data: PreparedData) -> dict[str, Any]:
    """KL/JS/LP/TVD/KS over all label values, in Clarify's facets layout."""
    assert data.classes is not None
    n_classes = len(data.class_names)
    facets: dict[str, Any] = {}
    for facet in data.facets:
        counts = cell_counts(
            facet.codes,
            facet.membership.shape[1],
            np.zeros_like(data.groups),
            1,
            data.classes,
            n_classes,
        )
        d, total = split_facet(facet, counts)
        d, a = d.sum(-2), (total - d).sum(-2)
        metrics = distribution_metrics(d, a)
        facets[facet.name] = [
            {
                "value_or_threshold": label,
                "metrics": [
                    {
                        "name": name,
                        "description": f"{METRICS[name].description} over all label values",
                        "value": json_value(metrics[name].item(i)[0]),
                        **({"error": metrics[name].item(i)[1]} if metrics[name].item(i)[1] else {}),
                    }
                    for name in sorted(DISTRIBUTION_METRICS)
                ],
            }
            for i, label in enumerate(facet.labels)
        ]
    return {"label_values": data.class_names, "facets": facets}


def _one_vs_rest_values(counts: np.ndarray, facet, has_group: bool) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Metric values of shape ``(..., classes, facet groups)`` from ``(..., K, G, C)`` counts."""
    d, total = split_facet(facet, counts)
    out: dict[str, list[np.ndarray]] = {name: [] for name in ONE_VS_REST_METRICS}
    for c in range(counts.shape[-1]):
        d_c = np.stack([d.sum(-1) - d[..., c], d[..., c]], -1)
        t_c = np.stack([total.sum(-1) - total[..., c], total[..., c]], -1)
        metrics = pretraining_metrics(d_c, t_c, has_group)
        for name in ONE_VS_REST_METRICS:
            out[name].append(metrics[name].values)
    return {name: np.stack(values, -2) for name, values in out.items()}


def one_vs_rest(data: PreparedData, bootstrap: int, seed: int) -> dict[str, Any]:
    """Label-dependent metrics with each label value as positive, with bootstrap intervals.

    Args:
        data: the prepared table (its label must have at most ``MAX_CLASSES`` values).
        bootstrap: number of resamples (0: no intervals).
        seed: seed of the resampling.
    """
    assert data.classes is not None
    rng = np.random.default_rng(seed)
    n_classes = len(data.class_names)
    rows: list[dict[str, Any]] = []
    for facet in data.facets:
        n_codes = facet.membership.shape[1]
        counts = cell_counts(
            facet.codes, n_codes, data.groups, data.n_groups, data.classes, n_classes
        )
        point = _one_vs_rest_values(counts, facet, data.has_group)
        low = high = None
        if bootstrap:
            n = int(counts.sum())
            draws = rng.multinomial(n, counts.ravel() / n, size=bootstrap)
            boot = _one_vs_rest_values(
                draws.reshape(bootstrap, *counts.shape), facet, data.has_group
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
                low = {k: np.nanpercentile(v, 2.5, axis=0) for k, v in boot.items()}
                high = {k: np.nanpercentile(v, 97.5, axis=0) for k, v in boot.items()}
        for c, class_name in enumerate(data.class_names):
            for i, label in enumerate(facet.labels):
                for name in ONE_VS_REST_METRICS:
                    if name == "CDDL" and not data.has_group:
                        continue
                    row = {
                        "facet": facet.name,
                        "value_or_threshold": label,
                        "positive_label": class_name,
                        "metric": name,
                        "value": _finite(point[name][c, i]),
                    }
                    if low is not None and high is not None:
                        row["ci_low"] = _finite(low[name][c, i])
                        row["ci_high"] = _finite(high[name][c, i])
                    rows.append(row)
    return {
        "label_values": data.class_names,
        "metrics": [m for m in ONE_VS_REST_METRICS if m != "CDDL" or data.has_group],
        "bootstrap": bootstrap,
        "confidence": 0.95,
        "seed": seed,
        "rows": rows,
    }


def _finite(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def summarize(data: PreparedData, pre: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    """Flag the facet values with the largest imbalance, in plain sentences and as records."""
    n, positives = len(data.frame), int(data.positive.sum())
    flags: list[dict[str, Any]] = []
    ovr = details.get("one_vs_rest", {}).get("rows", [])
    for facet in data.facets:
        stats = {s["value_or_threshold"]: s for s in details["data"]["facets"][facet.name]}
        small = {
            k
            for k, s in stats.items()
            if len(stats) > 1 and s["rows"] < max(SMALL_GROUP_ROWS, SMALL_GROUP_SHARE * n)
        }
        dpl = []
        for entry in pre[facet.name]:
            value = next(m["value"] for m in entry["metrics"] if m["name"] == "DPL")
            if isinstance(value, float) and entry["value_or_threshold"] not in small:
                dpl.append((abs(value), value, entry["value_or_threshold"]))
        for _, value, label in sorted(dpl, reverse=True)[:3]:
            s = stats[label]
            q_d = s["positive_rows"] / s["rows"]
            q_a = (positives - s["positive_rows"]) / max(n - s["rows"], 1)
            side = "less" if value > 0 else "more"
            flags.append(
                {
                    "facet": facet.name,
                    "value_or_threshold": label,
                    "kind": "label imbalance",
                    "metric": "DPL",
                    "value": value,
                    "text": f"{facet.name} = {label}: {q_d:.1%} of its {s['rows']} rows have "
                    f"label {data.label_text} vs {q_a:.1%} of the rest (DPL {value:+.3f}: "
                    f"{side} often positive)",
                }
            )
        for class_name in data.class_names if len(data.class_names) > 2 else []:
            candidates = [
                r
                for r in ovr
                if r["facet"] == facet.name
                and r["positive_label"] == class_name
                and r["metric"] == "DPL"
                and r["value"] is not None
                and r["value_or_threshold"] not in small
                and (r.get("ci_low") is None or r["ci_low"] > 0 or r["ci_high"] < 0)
            ]
            if candidates:
                top = max(candidates, key=lambda r: abs(r["value"]))
                interval = (
                    f", 95% CI [{top['ci_low']:+.3f}, {top['ci_high']:+.3f}]"
                    if top.get("ci_low") is not None
                    else ""
                )
                flags.append(
                    {
                        "facet": facet.name,
                        "value_or_threshold": top["value_or_threshold"],
                        "kind": f"share of label {class_name}",
                        "metric": "DPL",
                        "value": top["value"],
                        "text": f"label {class_name}: the most different share is {facet.name} = "
                        f"{top['value_or_threshold']} (DPL {top['value']:+.3f}{interval})",
                    }
                )
        for label, s in stats.items():
            if label in small:
                flags.append(
                    {
                        "facet": facet.name,
                        "value_or_threshold": label,
                        "kind": "small group",
                        "metric": "CI",
                        "value": (n - 2 * s["rows"]) / n,
                        "text": f"{facet.name} = {label} has only {s['rows']} "
                        f"row{'s' if s['rows'] != 1 else ''} ({s['rows'] / n:.2%}); "
                        "its metrics are noisy",
                    }
                )
    return {"findings": [f["text"] for f in flags], "flags": flags}
