"""Names, one-line descriptions, formulas and plain-language readings of every bias metric.

The one-line ``description`` is what ``analysis.json`` carries next to each value (SageMaker
Clarify writes the metric's full name with its abbreviation there). The formula, range and
reading are shown in the HTML report and in ``docs/clarify.md``.

Facet *d* is the group selected by the facet value(s) (Clarify's "sensitive" group); facet *a*
is every other row. Positive means "label in ``label_values_or_threshold``".
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "POST_TRAINING", "PRE_TRAINING", "MetricInfo"]


@dataclass(frozen=True)
class MetricInfo:
    """What one metric is and how to read it.

    Example:
        >>> METRICS["CI"].description
        'Class Imbalance (CI)'
    """

    name: str
    description: str
    formula: str
    value_range: str
    reading: str
    stage: str  # "pre" or "post"
    needs_group: bool = False


def _m(
    name: str, full: str, formula: str, rng: str, reading: str, stage: str, **kw: bool
) -> MetricInfo:
    return MetricInfo(name, f"{full} ({name})", formula, rng, reading, stage, **kw)


_ALL = [
    _m(
        "CI",
        "Class Imbalance",
        "CI = (n_a - n_d) / (n_a + n_d)",
        "[-1, 1]",
        "How under-represented facet d is. Near +1: the facet has very few rows compared with "
        "the rest, so a model sees little of it; 0: equal sizes; negative: the facet is the "
        "majority.",
        "pre",
    ),
    _m(
        "DPL",
        "Difference in Positive Proportions in Labels",
        "DPL = n_a(1)/n_a - n_d(1)/n_d",
        "[-1, 1]",
        "Positive: facet d has a smaller share of positive labels than the rest (e.g. its "
        "reviews are less often positive); negative: a larger share; 0: the same share.",
        "pre",
    ),
    _m(
        "KL",
        "Kullback-Leibler Divergence",
        "KL = sum_y P_a(y) ln(P_a(y) / P_d(y))",
        "[0, +inf) when both groups have every label value",
        "How much the label distribution of the rest diverges from that of facet d, in nats. "
        "0: identical distributions; larger: more different. Like Clarify, only label values "
        "present in both groups are compared, so KL can be negative when one group lacks a "
        "label value (e.g. a facet value whose reviews are all positive).",
        "pre",
    ),
    _m(
        "JS",
        "Jensen-Shannon Divergence",
        "JS = 1/2 [KL(P_a, P) + KL(P_d, P)], P = (P_a + P_d)/2",
        "[0, ln 2]",
        "A symmetric, bounded version of KL. 0: identical label distributions; ln 2 (0.693) is "
        "the most different two distributions can be.",
        "pre",
    ),
    _m(
        "LP",
        "L-p Norm",
        "LP = sqrt(sum_y (P_a(y) - P_d(y))^2)   (p = 2)",
        "[0, sqrt 2]",
        "Euclidean distance between the two label distributions. 0: identical.",
        "pre",
    ),
    _m(
        "TVD",
        "Total Variation Distance",
        "TVD = 1/2 sum_y |P_a(y) - P_d(y)|",
        "[0, 1]",
        "Half the L1 distance between the label distributions: the largest share of rows "
        "whose label you would have to change to make them equal. 0: identical.",
        "pre",
    ),
    _m(
        "KS",
        "Kolmogorov-Smirnov Distance",
        "KS = max_y |P_a(y) - P_d(y)|",
        "[0, 1]",
        "The largest gap between the two groups in the share of any single label value.",
        "pre",
    ),
    _m(
        "CDDL",
        "Conditional Demographic Disparity in Labels",
        "CDDL = (1/n) sum_g n_g [n_d,g(0)/n_g(0) - n_d,g(1)/n_g(1)]",
        "[-1, 1]",
        "Within each group of the group column: facet d's share of the negative outcomes minus "
        "its share of the positive outcomes, averaged with weights n_g. Positive: facet d gets "
        "more of the negative outcomes than of the positive ones even within groups.",
        "pre",
        needs_group=True,
    ),
    _m(
        "DPPL",
        "Difference in Positive Proportions in Predicted Labels",
        "DPPL = n^_a(1)/n_a - n^_d(1)/n_d",
        "[-1, 1]",
        "DPL computed on the model's predictions. Positive: the model predicts the positive "
        "class less often for facet d than for the rest.",
        "post",
    ),
    _m(
        "DI",
        "Disparate Impact",
        "DI = (n^_d(1)/n_d) / (n^_a(1)/n_a)",
        "[0, +inf)",
        "Ratio of predicted-positive rates. 1: parity; below 1 (e.g. under the 0.8 'four-fifths' "
        "rule of thumb): facet d is predicted positive less often.",
        "post",
    ),
    _m(
        "DCA",
        "Difference in Conditional Acceptance",
        "DCA = n_a(1)/n^_a(1) - n_d(1)/n^_d(1)",
        "(-inf, +inf)",
        "Observed positives per predicted positive, rest minus facet. Positive: the model "
        "accepts facet d more readily than its labels justify, relative to the rest.",
        "post",
    ),
    _m(
        "DCR",
        "Difference in Conditional Rejection",
        "DCR = n_d(0)/n^_d(0) - n_a(0)/n^_a(0)",
        "(-inf, +inf)",
        "Observed negatives per predicted negative, facet minus rest. Positive: facet d is "
        "rejected less than its labels suggest, relative to the rest.",
        "post",
    ),
    _m(
        "SD",
        "Specificity Difference",
        "SD = TN_d/(TN_d + FP_d) - TN_a/(TN_a + FP_a)",
        "[-1, 1]",
        "True-negative rate of facet d minus that of the rest. Positive: the model makes fewer "
        "false positives for facet d.",
        "post",
    ),
    _m(
        "RD",
        "Recall Difference",
        "RD = TP_a/(TP_a + FN_a) - TP_d/(TP_d + FN_d)",
        "[-1, 1]",
        "Recall of the rest minus recall of facet d. Positive: the model finds the true "
        "positives of facet d less often.",
        "post",
    ),
    _m(
        "DAR",
        "Difference in Acceptance Rates",
        "DAR = TP_a/n^_a(1) - TP_d/n^_d(1)",
        "[-1, 1]",
        "Precision of the rest minus precision of facet d. Positive: more of facet d's "
        "positive predictions are wrong.",
        "post",
    ),
    _m(
        "DRR",
        "Difference in Rejection Rates",
        "DRR = TN_d/n^_d(0) - TN_a/n^_a(0)",
        "[-1, 1]",
        "Negative predictive value of facet d minus that of the rest. Positive: facet d's "
        "negative predictions are more often right.",
        "post",
    ),
    _m(
        "AD",
        "Accuracy Difference",
        "AD = (TP_a + TN_a)/n_a - (TP_d + TN_d)/n_d",
        "[-1, 1]",
        "Accuracy of the rest minus accuracy of facet d. Positive: the model is less accurate "
        "for facet d.",
        "post",
    ),
    _m(
        "TE",
        "Treatment Equality",
        "TE = FN_d/FP_d - FN_a/FP_a",
        "(-inf, +inf)",
        "Difference in the ratio of false negatives to false positives. Positive: facet d's "
        "errors lean more towards missed positives than the rest's.",
        "post",
    ),
    _m(
        "CDDPL",
        "Conditional Demographic Disparity in Predicted Labels",
        "CDDPL = CDDL computed on predicted labels",
        "[-1, 1]",
        "As CDDL, for the model's predictions.",
        "post",
        needs_group=True,
    ),
    _m(
        "FT",
        "Flip Test",
        "FT = (F+ - F-) / n_d, with a k-NN (k = 5, or 1 when n_a <= 9) fitted on facet a",
        "[-1, 1]",
        "For each facet-d row, the prediction the model gives it is compared with the "
        "prediction its nearest facet-a neighbours got. F+: flips to positive, F-: flips to "
        "negative. Needs numeric feature columns.",
        "post",
    ),
    _m(
        "GE",
        "Generalized Entropy",
        "GE = 1/(2n) sum_i [(b_i / mean b)^2 - 1],  b_i = yhat_i - y_i + 1",
        "[0, +inf)",
        "Inequality of the 'benefit' the model hands out (2 for a false positive, 1 for a "
        "correct prediction, 0 for a false negative) over the whole data set; 0: everyone gets "
        "the same benefit. It does not depend on the facet.",
        "post",
    ),
]

METRICS: dict[str, MetricInfo] = {m.name: m for m in _ALL}
"""Every metric by name."""

PRE_TRAINING: tuple[str, ...] = tuple(sorted(m.name for m in _ALL if m.stage == "pre"))
"""Pre-training metric names in Clarify's report order (alphabetical)."""

POST_TRAINING: tuple[str, ...] = tuple(sorted(m.name for m in _ALL if m.stage == "post"))
"""Post-training metric names in Clarify's report order (alphabetical)."""
