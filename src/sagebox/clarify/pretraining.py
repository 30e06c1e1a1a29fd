"""Pre-training bias metrics (CI, DPL, KL, JS, LP, TVD, KS, CDDL), vectorised over facet groups.

Definitions follow SageMaker Clarify (``smclarify`` 0.5, ``bias/metrics/pretraining.py`` and
``common.py``) exactly, including its conventions:

* facet *d* is the facet value(s), facet *a* the rest; CI = (n_a - n_d)/n, DPL = q_a - q_d;
* KL, JS, LP, TVD and KS compare P_a and P_d (each normalised over its own rows) **only on the
  label values that occur in both groups** (Clarify's ``pdfs_aligned_nonzero``), without
  renormalising; when no label value is shared the metric is undefined; natural logarithms;
  LP uses p = 2;
* CDDL: per group, a share is 0 when its denominator is 0; undefined when the group column is
  missing or the whole data set has no positive (or no negative) label.

Inputs are counts: ``d`` has shape ``(..., G, C)`` (rows of facet *d* by group and label
class) and ``total`` shape ``(G, C)`` or broadcastable; the rest is ``total - d``. Binary
metrics use class index 1 as "positive".
"""

from __future__ import annotations

import numpy as np

from sagebox.clarify._arrays import MetricArray, clarify_divide, with_errors

__all__ = [
    "DISTRIBUTION_METRICS",
    "class_imbalance",
    "conditional_demographic_disparity",
    "difference_in_proportions",
    "distribution_metrics",
    "pretraining_metrics",
]

DISTRIBUTION_METRICS = ("KL", "JS", "LP", "TVD", "KS")

EMPTY_FACET = "facet d (the selected value) has no rows"
EMPTY_REST = "facet a (every row outside the selected value) has no rows"
NO_SHARED_LABEL = "no label value occurs in both facet d and facet a"
NO_GROUP = "no group variable given (set group_name) for conditional demographic disparity"
NO_POSITIVE = "the data has no positive labels"
NO_NEGATIVE = "the data has no negative labels"


def class_imbalance(n_d: np.ndarray, n_a: np.ndarray) -> MetricArray:
    """CI = (n_a - n_d) / (n_a + n_d); undefined when either group is empty."""
    n_d = np.asarray(n_d, dtype=np.float64)
    n_a = np.asarray(n_a, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (n_a - n_d) / (n_a + n_d)
    return with_errors(values, (n_a == 0, EMPTY_REST), (n_d == 0, EMPTY_FACET))


def difference_in_proportions(d: np.ndarray, a: np.ndarray) -> MetricArray:
    """DPL (or DPPL on predictions): q_a - q_d with q = positives / rows; ``(..., 2)`` counts."""
    d = np.asarray(d, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    n_d, n_a = d.sum(-1), a.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = a[..., 1] / n_a - d[..., 1] / n_d
    return with_errors(values, (n_a == 0, EMPTY_REST), (n_d == 0, EMPTY_FACET))


def distribution_metrics(d: np.ndarray, a: np.ndarray) -> dict[str, MetricArray]:
    """KL, JS, LP (p=2), TVD and KS between the label distributions of facets a and d.

    Args:
        d: label counts of facet d, shape ``(..., C)`` (any number of label classes).
        a: label counts of facet a, same shape.
    """
    d = np.asarray(d, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    shared = (d > 0) & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_d = np.where(shared, d / d.sum(-1, keepdims=True), 1.0)
        p_a = np.where(shared, a / a.sum(-1, keepdims=True), 1.0)
        mid = 0.5 * (p_a + p_d)
        kl = np.where(shared, p_a * np.log(p_a / p_d), 0.0).sum(-1)
        js = 0.5 * (
            np.where(shared, p_a * np.log(p_a / mid), 0.0).sum(-1)
            + np.where(shared, p_d * np.log(p_d / mid), 0.0).sum(-1)
        )
    gap = np.where(shared, np.abs(p_a - p_d), 0.0)
    undefined = ~shared.any(-1)
    values = {
        "KL": kl,
        "JS": js,
        "LP": np.sqrt((gap**2).sum(-1)),
        "TVD": 0.5 * gap.sum(-1),
        "KS": gap.max(-1, initial=0.0),
    }
    return {name: with_errors(v, (undefined, NO_SHARED_LABEL)) for name, v in values.items()}


def conditional_demographic_disparity(d: np.ndarray, total: np.ndarray) -> MetricArray:
    """CDD: group-size-weighted mean of facet d's share of negatives minus its share of positives.

    Args:
        d: counts of facet d by group and binary label, shape ``(..., G, 2)``.
        total: counts of all rows by group and binary label, broadcastable to ``d``.
    """
    d = np.asarray(d, dtype=np.float64)
    total = np.broadcast_to(np.asarray(total, dtype=np.float64), d.shape)
    n_g = total.sum(-1)
    share_pos = np.where(total[..., 1] > 0, d[..., 1] / np.maximum(total[..., 1], 1), 0.0)
    share_neg = np.where(total[..., 0] > 0, d[..., 0] / np.maximum(total[..., 0], 1), 0.0)
    values = clarify_divide((n_g * (share_neg - share_pos)).sum(-1), n_g.sum(-1))
    positives, negatives = total[..., 1].sum(-1), total[..., 0].sum(-1)
    return with_errors(values, (positives == 0, NO_POSITIVE), (negatives == 0, NO_NEGATIVE))


def pretraining_metrics(
    d: np.ndarray, total: np.ndarray, has_group: bool
) -> dict[str, MetricArray]:
    """All pre-training metrics, by name in Clarify's (alphabetical) order.

    Args:
        d: facet-d counts by group and binary label, shape ``(..., G, 2)``.
        total: all rows by group and binary label, broadcastable to ``d``.
        has_group: whether ``G`` indexes a real group column (else CDDL is undefined).
    """
    d = np.asarray(d, dtype=np.int64)
    total = np.broadcast_to(np.asarray(total, dtype=np.int64), d.shape)
    d_lab, a_lab = d.sum(-2), (total - d).sum(-2)
    result = {
        "CI": class_imbalance(d_lab.sum(-1), a_lab.sum(-1)),
        "DPL": difference_in_proportions(d_lab, a_lab),
        **distribution_metrics(d_lab, a_lab),
    }
    if has_group:
        result["CDDL"] = conditional_demographic_disparity(d, total)
    else:
        result["CDDL"] = with_errors(np.zeros(d_lab.shape[:-1]), (np.True_, NO_GROUP))
    return dict(sorted(result.items()))
