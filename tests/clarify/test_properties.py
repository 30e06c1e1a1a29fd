"""Property tests: the vectorised metrics equal a naive row-by-row oracle, and stay in range."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagebox.clarify import BiasConfig, run_bias
from sagebox.clarify.posttraining import posttraining_metrics
from sagebox.clarify.pretraining import distribution_metrics, pretraining_metrics
from tests.clarify import reference

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),  # facet
        st.sampled_from([-1, 0, 1]),  # label
        st.sampled_from([-1, 0, 1]),  # prediction
        st.sampled_from(["u", "v"]),  # group
    ),
    min_size=2,
    max_size=40,
)


def _close(got: object, expected: float | None, name: str) -> None:
    if expected is None:
        assert got is None, name
    elif isinstance(got, str):
        assert got == ("Infinity" if expected > 0 else "-Infinity"), name
    else:
        assert got == pytest.approx(expected, abs=1e-12), name


@SETTINGS
@given(rows)
def test_matches_naive_reference(data: list[tuple[str, int, int, str]]) -> None:
    # 40 copies keep every numeric column under Clarify's 5%-distinct "continuous" rule
    frame = pd.DataFrame(data * 40, columns=["f", "y", "p", "g"])
    config = BiasConfig("y", [1], "f", group_name="g", predicted_label="p", bootstrap=0)
    try:
        analysis = run_bias(frame, config).analysis
    except Exception as exc:  # only "no positive label / prediction" may stop it
        assert "no row" in str(exc)
        return
    positive = (frame["y"] == 1).tolist()
    predicted = (frame["p"] == 1).tolist()
    groups = frame["g"].tolist()
    for stage, oracle in (
        (
            "pre_training_bias_metrics",
            lambda f: reference.pretraining(positive, f, positive, groups),
        ),
        (
            "post_training_bias_metrics",
            lambda f: reference.posttraining(f, positive, predicted, groups),
        ),
    ):
        for entry in analysis[stage]["facets"]["f"]:
            facet = (frame["f"] == entry["value_or_threshold"]).tolist()
            expected = oracle(facet)
            for metric in entry["metrics"]:
                if metric["name"] in expected:
                    _close(metric["value"], expected[metric["name"]], metric["name"])


counts = st.lists(st.integers(0, 30), min_size=2, max_size=4)


@SETTINGS
@given(counts, counts)
def test_distribution_metric_ranges_and_symmetry(d: list[int], a: list[int]) -> None:
    size = min(len(d), len(a))
    d_arr, a_arr = np.array(d[:size]), np.array(a[:size])
    forward = distribution_metrics(d_arr, a_arr)
    backward = distribution_metrics(a_arr, d_arr)
    if forward["JS"].errors[()] is not None:
        return
    js = float(forward["JS"].values)
    assert -1e-12 <= js <= math.log(2) + 1e-12
    assert float(backward["JS"].values) == pytest.approx(js)  # JS is symmetric
    for name, top in (("TVD", 1.0), ("KS", 1.0), ("LP", math.sqrt(2))):
        value = float(forward[name].values)
        assert -1e-12 <= value <= top + 1e-12, name
        assert float(backward[name].values) == pytest.approx(value), name
    if (d_arr > 0).all() and (a_arr > 0).all():  # full shared support: a true divergence
        assert float(forward["KL"].values) >= -1e-12


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=4))
def test_ci_and_dpl_in_unit_interval(cells: list[tuple[int, int]]) -> None:
    d = np.array(cells[: len(cells) // 2 + 1])[:, None, :]  # (values, 1 group, 2 labels)
    total = d.sum(0, keepdims=True) + np.array([[[3, 4]]])
    metrics = pretraining_metrics(d, total, has_group=False)
    for name in ("CI", "DPL"):
        values = metrics[name].values
        defined = ~np.isnan(values)
        assert np.all(np.abs(values[defined]) <= 1 + 1e-12), name


@SETTINGS
@given(
    st.lists(st.integers(0, 15), min_size=4, max_size=4),
    st.lists(st.integers(0, 15), min_size=4, max_size=4),
)
def test_posttraining_rate_differences_in_unit_interval(d: list[int], rest: list[int]) -> None:
    d_arr = np.array(d)[None, None, :]
    total = d_arr + np.array(rest)[None, None, :]
    metrics = posttraining_metrics(d_arr, total, has_group=False)
    for name in ("DPPL", "RD", "SD", "DAR", "DRR", "AD"):
        value = metrics[name].values[0]
        assert np.isnan(value) or abs(value) <= 1 + 1e-12, name
    di = metrics["DI"].values[0]
    assert np.isnan(di) or di >= 0
    ge = metrics["GE"].values[0]
    assert np.isnan(ge) or ge >= -1e-12


def test_bootstrap_is_seeded() -> None:
    from sagebox.datasets import generate_reviews, to_sentiment

    table = to_sentiment(generate_reviews(400, seed=3))
    config = BiasConfig("sentiment", [1], "product_category", bootstrap=50, seed=7)
    one = run_bias(table, config).details["one_vs_rest"]["rows"]
    two = run_bias(table, config).details["one_vs_rest"]["rows"]
    assert one == two
    other = run_bias(table, BiasConfig("sentiment", [1], "product_category", bootstrap=50, seed=8))
    assert other.details["one_vs_rest"]["rows"] != one
    with_interval = [r for r in one if r["ci_low"] is not None and r["value"] is not None]
    assert with_interval and all(r["ci_low"] <= r["ci_high"] for r in with_interval)
