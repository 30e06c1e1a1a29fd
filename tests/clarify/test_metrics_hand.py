"""Every metric on small examples computed by hand, plus the documented edge-case conventions.

The example: 10 rows, facet d = 4 rows, facet a = 6 rows, repeated 5 times. (Clarify treats a
numeric column with at least 5% distinct values as continuous, which would make the label 1 a
threshold; 50 rows with 2 label values are 4% distinct. Every metric depends on proportions
only, so the repetition changes no value.)

    facet d: label [1, 0, 0, 0], prediction [1, 1, 0, 0], group [u, u, v, v], x [0, 1, 2, 3]
    facet a: label [1, 1, 1, 1, 0, 0], prediction [1, 1, 0, 1, 0, 1],
             group [u, u, v, v, u, v], x [0.1, 1.1, 2.1, 3.1, 10, 11]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sagebox.clarify import BiasConfig, run_bias
from sagebox.clarify.posttraining import flip_test, generalized_entropy, posttraining_metrics
from sagebox.clarify.pretraining import (
    class_imbalance,
    conditional_demographic_disparity,
    difference_in_proportions,
    distribution_metrics,
    pretraining_metrics,
)

LN = math.log


@pytest.fixture()
def example() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "y": [1, 0, 0, 0, 1, 1, 1, 1, 0, 0],
            "f": ["d"] * 4 + ["a"] * 6,
            "p": [1, 1, 0, 0, 1, 1, 0, 1, 0, 1],
            "g": ["u", "u", "v", "v", "u", "u", "v", "v", "u", "v"],
            "x": [0.0, 1.0, 2.0, 3.0, 0.1, 1.1, 2.1, 3.1, 10.0, 11.0],
        }
    )
    return pd.concat([rows] * 5, ignore_index=True)


def _repeat(frame: pd.DataFrame, times: int = 10) -> pd.DataFrame:
    """Copies of ``frame``: few enough distinct values (< 5%) for a categorical label."""
    return pd.concat([frame] * times, ignore_index=True)


def _metrics(analysis: dict, stage: str, value: str = "d") -> dict:
    entries = analysis[stage]["facets"]["f"]
    entry = next(e for e in entries if e["value_or_threshold"] == value)
    return {m["name"]: m for m in entry["metrics"]}


PRE_EXPECTED = {
    "CI": (6 - 4) / 10,
    "DPL": 4 / 6 - 1 / 4,
    # P_a = [1/3, 2/3], P_d = [3/4, 1/4] over (negative, positive)
    "KL": 1 / 3 * LN((1 / 3) / (3 / 4)) + 2 / 3 * LN((2 / 3) / (1 / 4)),
    "JS": 0.5
    * (1 / 3 * LN(8 / 13) + 2 / 3 * LN(16 / 11) + 3 / 4 * LN(18 / 13) + 1 / 4 * LN(6 / 11)),
    "LP": 5 / 12 * math.sqrt(2),
    "TVD": 5 / 12,
    "KS": 5 / 12,
    # group u: d's share of negatives 1/2, of positives 1/3; group v: 2/3 and 0; n_u = n_v = 5
    "CDDL": (5 * (1 / 2 - 1 / 3) + 5 * (2 / 3 - 0)) / 10,
}

POST_EXPECTED = {
    # d: TP 1, FP 1, FN 0, TN 2; a: TP 3, FP 1, FN 1, TN 1
    "DPPL": 4 / 6 - 2 / 4,
    "DI": (2 / 4) / (4 / 6),
    "DCA": 4 / 4 - 1 / 2,
    "DCR": 3 / 2 - 2 / 2,
    "RD": 3 / 4 - 1 / 1,
    "SD": 2 / 3 - 1 / 2,
    "DAR": 3 / 4 - 1 / 2,
    "DRR": 2 / 2 - 1 / 2,
    "AD": 4 / 6 - 3 / 4,
    "TE": 0 / 1 - 1 / 1,
    # benefits 1,2,1,1,1,1,0,1,1,2: mean 1.1, sum of squares 15
    "GE": (15 / 1.1**2 - 10) / (2 * 10),
    # predicted: group u d shares neg 0/1, pos 2/4; group v: neg 2/3, pos 0/2
    "CDDPL": (5 * (0 - 1 / 2) + 5 * (2 / 3 - 0)) / 10,
    # nearest facet-a neighbours of d (5 copies each) give [1, 1, 0, 1] vs the model's [1, 1, 0, 0]
    "FT": (0 - 1) / 4,
}


def test_pretraining_metrics_by_hand(example: pd.DataFrame) -> None:
    result = run_bias(example, BiasConfig("y", [1], [{"name": "f"}], group_name="g"))
    got = _metrics(result.analysis, "pre_training_bias_metrics")
    assert list(got) == sorted(PRE_EXPECTED)  # Clarify lists metrics alphabetically
    for name, expected in PRE_EXPECTED.items():
        assert got[name]["value"] == pytest.approx(expected, abs=1e-12), name


def test_facet_a_sees_mirrored_signs(example: pd.DataFrame) -> None:
    result = run_bias(example, BiasConfig("y", [1], "f", group_name="g"))
    d = _metrics(result.analysis, "pre_training_bias_metrics", "d")
    a = _metrics(result.analysis, "pre_training_bias_metrics", "a")
    assert a["CI"]["value"] == pytest.approx(-d["CI"]["value"])
    assert a["DPL"]["value"] == pytest.approx(-d["DPL"]["value"])
    for name in ("JS", "LP", "TVD", "KS"):
        assert a[name]["value"] == pytest.approx(d[name]["value"]), name


def test_posttraining_metrics_by_hand(example: pd.DataFrame) -> None:
    config = BiasConfig("y", [1], "f", group_name="g", predicted_label="p")
    got = _metrics(run_bias(example, config).analysis, "post_training_bias_metrics")
    assert list(got) == sorted(POST_EXPECTED)
    for name, expected in POST_EXPECTED.items():
        if name == "FT":  # the group column is text, so FT is undefined here (as in Clarify)
            assert got[name]["value"] is None and "numeric" in got[name]["error"]
            continue
        assert got[name]["value"] == pytest.approx(expected, abs=1e-12), name


def test_flip_test_by_hand(example: pd.DataFrame) -> None:
    config = BiasConfig("y", [1], "f", predicted_label="p")
    got = _metrics(
        run_bias(example.drop(columns="g"), config).analysis, "post_training_bias_metrics"
    )
    assert got["FT"]["value"] == pytest.approx(POST_EXPECTED["FT"])
    once = example.iloc[:10]  # 6 rows of facet a: k = 1 (Clarify's rule for n_a <= 9)
    facet = once["f"].eq("d").to_numpy()
    value, error = flip_test(once[["x"]].to_numpy(), facet, once["p"].eq(1).to_numpy())
    assert error is None and value == pytest.approx(-0.25)


# --- edge cases: Clarify's conventions, documented in docs/clarify.md ---------------------


def test_facet_value_with_no_positive_labels_uses_shared_label_values_only() -> None:
    # d = [0, 0], a = [1, 0]: only the negative label occurs in both groups, so KL & co.
    # compare P_a(0) = 1/2 with P_d(0) = 1 without renormalising (KL may be negative).
    m = distribution_metrics(np.array([2, 0]), np.array([1, 1]))
    assert m["KL"].values == pytest.approx(0.5 * LN(0.5))
    assert m["JS"].values == pytest.approx(0.5 * (0.5 * LN(0.5 / 0.75) + LN(1 / 0.75)))
    assert m["LP"].values == pytest.approx(0.5)
    assert m["TVD"].values == pytest.approx(0.25)
    assert m["KS"].values == pytest.approx(0.5)
    assert difference_in_proportions(np.array([2, 0]), np.array([1, 1])).values == 0.5


def test_no_shared_label_value_is_undefined() -> None:
    m = distribution_metrics(np.array([0, 3]), np.array([4, 0]))
    for name in ("KL", "JS", "LP", "TVD", "KS"):
        assert np.isnan(m[name].values) and "no label value" in m[name].errors[()], name


def test_empty_facet_is_undefined_except_cdd() -> None:
    d = np.zeros((1, 2), dtype=np.int64)  # one group, no rows of facet d
    total = np.array([[3, 5]])
    metrics = pretraining_metrics(d[None], total[None], has_group=True)
    for name in ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS"):
        assert np.isnan(metrics[name].values[0]) and metrics[name].errors[0], name
    assert "facet d" in metrics["CI"].errors[0]
    assert metrics["CDDL"].values[0] == 0.0  # Clarify's CDD never checks the facet size
    post = posttraining_metrics(np.zeros((1, 1, 4)), np.array([[[1, 2, 3, 4]]]), False)
    for name in ("DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE"):
        assert post[name].errors[0] is not None, name
    assert post["GE"].errors[0] is None  # GE does not depend on the facet


def test_empty_rest_is_undefined() -> None:
    ci = class_imbalance(np.array([5]), np.array([0]))
    assert np.isnan(ci.values[0]) and "facet a" in ci.errors[0]


def test_all_one_label() -> None:
    frame = _repeat(pd.DataFrame({"y": [1] * 6, "f": list("aabbcc"), "g": list("uvuvuv")}))
    got = _metrics(
        run_bias(frame, BiasConfig("y", [1], "f", group_name="g")).analysis,
        "pre_training_bias_metrics",
        "a",
    )
    for name in ("DPL", "KL", "JS", "LP", "TVD", "KS"):
        assert got[name]["value"] == 0.0, name
    assert got["CDDL"]["value"] is None and "no negative labels" in got["CDDL"]["error"]
    assert got["CI"]["value"] == pytest.approx((4 - 2) / 6)


def test_cdd_without_group_is_undefined(example: pd.DataFrame) -> None:
    got = _metrics(
        run_bias(example, BiasConfig("y", [1], "f")).analysis, "pre_training_bias_metrics"
    )
    assert got["CDDL"]["value"] is None and "group" in got["CDDL"]["error"]


def test_cdd_group_without_positives_counts_as_zero_share() -> None:
    # group v has no positive labels: facet d's share of positives there is taken as 0
    d = np.array([[1, 1], [2, 0]])  # (group, label): u: 1 neg 1 pos; v: 2 neg
    total = np.array([[2, 2], [3, 0]])
    value = conditional_demographic_disparity(d, total).values
    assert value == pytest.approx((4 * (1 / 2 - 1 / 2) + 3 * (2 / 3 - 0)) / 7)


def test_division_by_zero_conventions() -> None:
    # cells [TN, FP, FN, TP]
    d = np.array([[[0, 0, 2, 0]]])  # facet d: 2 false negatives, nothing predicted positive
    rest = np.array([[[1, 0, 1, 2]]])  # facet a: TN 1, FN 1, TP 2, no false positive
    m = posttraining_metrics(d, d + rest, has_group=False)
    # q_d = 0, q_a = 2/4: DI = 0 / 0.5 = 0
    assert m["DI"].values[0] == 0.0
    # c_d = n_d(1)/n^_d(1) = 2/0 = +inf, c_a = 3/2: DCA = 1.5 - inf = -inf
    assert m["DCA"].values[0] == -np.inf
    # TE: FN_d/FP_d = 2/0 = +inf and FN_a/FP_a = 1/0 = +inf: both infinite -> 0
    assert m["TE"].values[0] == 0.0
    # DAR: TP_d/n^_d(1) = 0/0 -> 0 (Clarify's divide), TP_a/n^_a(1) = 1
    assert m["DAR"].values[0] == 1.0
    both_zero = posttraining_metrics(np.array([[[3, 0, 0, 0]]]), np.array([[[5, 0, 1, 0]]]), False)
    assert both_zero["DI"].values[0] == 0.0  # 0/0 -> 0


def test_infinity_is_written_as_a_string() -> None:
    frame = _repeat(
        pd.DataFrame({"y": [1, 1, 0, 0, 1, 0], "f": list("ddaaaa"), "p": [0, 0, 0, 0, 1, 1]})
    )
    got = _metrics(
        run_bias(frame, BiasConfig("y", [1], "f", predicted_label="p")).analysis,
        "post_training_bias_metrics",
    )
    assert got["DCA"]["value"] == "-Infinity"  # c_d = 2/0
    assert got["TE"]["value"] == "Infinity"  # FN_d/FP_d = 2/0, FN_a/FP_a = 0/1


def test_generalized_entropy_all_false_negatives_is_undefined() -> None:
    ge = generalized_entropy(np.array([0, 0, 4, 0]))
    assert np.isnan(ge.values) and "false negative" in ge.errors[()]
    perfect = generalized_entropy(np.array([3, 0, 0, 5]))
    assert perfect.values == 0.0


def test_multiple_facet_values_form_one_group(example: pd.DataFrame) -> None:
    frame = example.assign(f=["d", "e", "d", "e", "a", "a", "a", "a", "a", "a"] * 5)
    config = BiasConfig("y", [1], [{"name": "f", "values_or_threshold": ["d", "e"]}])
    entries = run_bias(frame, config).analysis["pre_training_bias_metrics"]["facets"]["f"]
    assert [e["value_or_threshold"] for e in entries] == ["d,e"]
    got = {m["name"]: m["value"] for m in entries[0]["metrics"]}
    assert got["DPL"] == pytest.approx(PRE_EXPECTED["DPL"])


def test_continuous_facet_threshold(example: pd.DataFrame) -> None:
    frame = example.assign(age=[50.0, 61, 45, 70, 20, 33, 25, 38, 19, 44] * 5)
    config = BiasConfig("y", [1], [{"name": "age", "values_or_threshold": [40]}])
    entries = run_bias(frame, config).analysis["pre_training_bias_metrics"]["facets"]["age"]
    assert [e["value_or_threshold"] for e in entries] == ["(40.0, 70.0]"]
    got = {m["name"]: m["value"] for m in entries[0]["metrics"]}
    # ages above 40 are rows 0-3 and 9: labels 1,0,0,0,0 -> q_d = 1/5; rest 4/5 positive
    assert got["DPL"] == pytest.approx(4 / 5 - 1 / 5)


def test_multiclass_label_distribution() -> None:
    frame = _repeat(pd.DataFrame({"y": [-1, 0, 1, 1, -1, -1, 0, 1], "f": list("ddddaaaa")}))
    details = run_bias(frame, BiasConfig("y", [1], "f")).details
    entry = next(e for e in details["multiclass"]["facets"]["f"] if e["value_or_threshold"] == "d")
    got = {m["name"]: m["value"] for m in entry["metrics"]}
    p_d, p_a = [1 / 4, 1 / 4, 1 / 2], [1 / 2, 1 / 4, 1 / 4]
    assert got["KL"] == pytest.approx(sum(a * LN(a / d) for a, d in zip(p_a, p_d, strict=True)))
    assert got["TVD"] == pytest.approx(0.25)
    assert got["KS"] == pytest.approx(0.25)


def test_small_numeric_label_counts_as_continuous_like_clarify() -> None:
    # 2 distinct values in 10 rows = 20% distinct: Clarify treats the label as continuous, so
    # [1] is a threshold and nothing lies above the maximum 1; we say so instead of computing
    # metrics on an all-negative label.
    from sagebox.errors import InputDataError

    frame = pd.DataFrame({"y": [1, 0] * 5, "f": list("aabbaabbaa")})
    with pytest.raises(InputDataError, match="interval") as info:
        run_bias(frame, BiasConfig("y", [1], "f"))
    assert "continuous" in (info.value.hint or "")
    # two values always select categories
    assert run_bias(frame, BiasConfig("y", [1, 1], "f")).analysis
