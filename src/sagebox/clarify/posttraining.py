"""Post-training bias metrics, vectorised over facet groups (FT separately: it needs features).

Definitions follow SageMaker Clarify (``smclarify`` 0.5, ``bias/metrics/posttraining.py`` and
``common.py``) exactly, including its conventions for division by zero: ``clarify_divide``
(0/0 = 0, x/0 = +inf) inside DI, DCA, DCR, RD, SD, DAR, DRR, AD and TE, and a difference of two
infinite ratios is 0. DPPL and DI are undefined when a group is empty; DCA, DCR, RD, SD, DAR,
DRR, AD, TE and FT likewise (Clarify raises before dividing). GE is computed on the whole data
set and is the same for every facet value.

Confusion counts have a last axis of 4 cells indexed ``2 * label + prediction``:
``[TN, FP, FN, TP]``.
"""

from __future__ import annotations

import numpy as np

from sagebox.clarify._arrays import (
    MetricArray,
    both_infinite_is_zero,
    clarify_divide,
    with_errors,
)
from sagebox.clarify.pretraining import (
    EMPTY_FACET,
    EMPTY_REST,
    NO_GROUP,
    conditional_demographic_disparity,
    difference_in_proportions,
)

__all__ = ["flip_test", "generalized_entropy", "posttraining_metrics"]

TN, FP, FN, TP = 0, 1, 2, 3
ALL_FALSE_NEGATIVES = "every prediction is a false negative, so the mean benefit is 0"


def _rates(c: np.ndarray) -> dict[str, np.ndarray]:
    c = np.asarray(c, dtype=np.float64)
    tn, fp, fn, tp = c[..., TN], c[..., FP], c[..., FN], c[..., TP]
    n1, n0, n1hat, n0hat = fn + tp, tn + fp, fp + tp, tn + fn
    return {
        "n": tn + fp + fn + tp,
        "n1hat": n1hat,
        "conditional_acceptance": clarify_divide(n1, n1hat),
        "conditional_rejection": clarify_divide(n0, n0hat),
        "recall": clarify_divide(tp, tp + fn),
        "specificity": clarify_divide(tn, tn + fp),
        "acceptance_rate": clarify_divide(tp, n1hat),
        "rejection_rate": clarify_divide(tn, n0hat),
        "accuracy": clarify_divide(tp + tn, tn + fp + fn + tp),
        "fn_per_fp": clarify_divide(fn, fp),
    }


def posttraining_metrics(
    d: np.ndarray, total: np.ndarray, has_group: bool
) -> dict[str, MetricArray]:
    """All post-training metrics except FT, by name in Clarify's (alphabetical) order.

    Args:
        d: facet-d confusion counts by group, shape ``(..., G, 4)``.
        total: confusion counts of all rows by group, broadcastable to ``d``.
        has_group: whether ``G`` indexes a real group column (else CDDPL is undefined).
    """
    d = np.asarray(d, dtype=np.int64)
    total = np.broadcast_to(np.asarray(total, dtype=np.int64), d.shape)
    cd, ca = d.sum(-2), (total - d).sum(-2)
    rd, ra = _rates(cd), _rates(ca)
    empty = ((rd["n"] == 0, EMPTY_FACET), (ra["n"] == 0, EMPTY_REST))
    rest_first = (empty[1], empty[0])  # DPPL and DI check facet a first, like Clarify

    def diff(first: str, second: str, minus: str) -> MetricArray:
        x, y = (rd, ra) if first == "d" else (ra, rd)
        with np.errstate(invalid="ignore"):
            value = both_infinite_is_zero(x[minus] - y[minus], x[minus], y[minus])
        return with_errors(value, *empty)

    pred = lambda c: np.stack([c[..., TN] + c[..., FN], c[..., FP] + c[..., TP]], -1)  # noqa: E731
    q_d = clarify_divide(rd["n1hat"], rd["n"])
    q_a = clarify_divide(ra["n1hat"], ra["n"])
    result = {
        "DPPL": difference_in_proportions(pred(cd), pred(ca)),
        "DI": with_errors(clarify_divide(q_d, q_a), *rest_first),
        "DCA": diff("a", "d", "conditional_acceptance"),
        "DCR": diff("d", "a", "conditional_rejection"),
        "RD": diff("a", "d", "recall"),
        "SD": diff("d", "a", "specificity"),
        "DAR": diff("a", "d", "acceptance_rate"),
        "DRR": diff("d", "a", "rejection_rate"),
        "AD": diff("a", "d", "accuracy"),
        "TE": diff("d", "a", "fn_per_fp"),
        "GE": generalized_entropy(total.sum(-2), batch_shape=cd.shape[:-1]),
    }
    if has_group:
        result["CDDPL"] = conditional_demographic_disparity(pred(d), pred(total))
    else:
        result["CDDPL"] = with_errors(np.zeros(cd.shape[:-1]), (np.True_, NO_GROUP))
    return dict(sorted(result.items()))


def generalized_entropy(
    confusion: np.ndarray, alpha: float = 2.0, batch_shape: tuple[int, ...] = ()
) -> MetricArray:
    """GE index of the benefits b = prediction - label + 1 over all rows (alpha = 2).

    Args:
        confusion: confusion counts of the whole data set, shape ``(..., 4)``.
        alpha: the GE parameter (Clarify uses 2).
        batch_shape: broadcast the result to this shape (one value per facet group).
    """
    c = np.asarray(confusion, dtype=np.float64)
    n = c.sum(-1)
    # benefit 0 for false negatives, 1 for correct predictions, 2 for false positives
    mean_benefit = clarify_divide(c[..., TN] + c[..., TP] + 2.0 * c[..., FP], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_sum = (
            (c[..., TN] + c[..., TP]) * (1.0 / mean_benefit) ** alpha
            + c[..., FP] * (2.0 / mean_benefit) ** alpha
            + c[..., FN] * 0.0
        )
        values = (ratio_sum - n) / (n * alpha * (alpha - 1))
    values = np.broadcast_to(values, np.broadcast_shapes(np.shape(values), batch_shape))
    return with_errors(
        values, (n == 0, "the data set is empty"), (mean_benefit == 0, ALL_FALSE_NEGATIVES)
    )


def flip_test(
    features: np.ndarray, facet: np.ndarray, predicted_positive: np.ndarray
) -> tuple[float | None, str | None]:
    """FT for one facet group: k-NN on facet a's features and predictions, applied to facet d.

    ``k`` is 5, or 1 when facet a has 9 rows or fewer (Clarify's rule).

    Args:
        features: numeric feature matrix (no facet, label or prediction columns), one row each.
        facet: boolean mask of facet d.
        predicted_positive: boolean mask of positive predictions.

    Returns:
        ``(value, None)``, or ``(None, reason)`` when undefined.
    """
    from sklearn.neighbors import KNeighborsClassifier

    n_d = int(facet.sum())
    if n_d == 0:
        return None, EMPTY_FACET
    if n_d == len(facet):
        return None, EMPTY_REST
    if features.shape[1] == 0:
        return None, "the flip test needs numeric feature columns besides facet and label"
    rest = ~facet
    knn = KNeighborsClassifier(n_neighbors=5 if rest.sum() > 9 else 1)
    knn.fit(features[rest], predicted_positive[rest])
    as_if_a = knn.predict(features[facet]).astype(bool)
    model = predicted_positive[facet]
    flips_pos = int(np.sum(model & ~as_if_a))
    flips_neg = int(np.sum(~model & as_if_a))
    return float(clarify_divide(flips_pos - flips_neg, n_d)), None
