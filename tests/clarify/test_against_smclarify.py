"""Compare with SageMaker Clarify's own open-source metrics library, when it is installed.

``smclarify`` (``pip install smclarify``) is not a sagebox dependency, so this test is skipped
unless it is importable. It runs Clarify's ``bias_report`` and sagebox's ``run_bias`` on the same
tables, pre- and post-training, edge cases included, and requires equal values (1e-12) and equal
undefined (null) entries.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from sagebox.clarify import BiasConfig, run_bias

report = pytest.importorskip("smclarify.bias.report")


def _clarify(df: pd.DataFrame, label: str, values: list, facet: str, facet_values, pred, group):  # type: ignore[no-untyped-def]
    as_object = {c: object for c in df.columns if pd.api.types.is_string_dtype(df[c])}
    frame = df.astype(as_object)
    out = {}
    for stage, key in (
        (report.StageType.PRE_TRAINING, "pre_training_bias_metrics"),
        (report.StageType.POST_TRAINING, "post_training_bias_metrics"),
    ):
        if key.startswith("post") and pred is None:
            continue
        predicted = report.LabelColumn(pred, frame[pred], list(values)) if pred else None
        out[key] = report.bias_report(
            frame.drop(columns=[pred]) if pred else frame,
            report.FacetColumn(facet, facet_values),
            report.LabelColumn(label, frame[label], list(values)),
            stage,
            predicted,
            group_variable=frame[group] if group else None,
        )
    return out


def _compare(df, label, values, facet, facet_values=None, pred=None, group=None) -> None:  # type: ignore[no-untyped-def]
    logging.disable(logging.CRITICAL)
    try:
        theirs = _clarify(df, label, values, facet, facet_values, pred, group)
    finally:
        logging.disable(logging.NOTSET)
    facets = (
        facet if facet_values is None else [{"name": facet, "values_or_threshold": facet_values}]
    )
    ours = run_bias(
        df, BiasConfig(label, values, facets, predicted_label=pred, group_name=group, bootstrap=0)
    ).analysis
    for key, entries in theirs.items():
        mine = ours[key]["facets"][facet]
        assert [e["value_or_threshold"] for e in entries] == [e["value_or_threshold"] for e in mine]
        for t, m in zip(entries, mine, strict=True):
            assert [x["name"] for x in t["metrics"]] == [x["name"] for x in m["metrics"]]
            for x, y in zip(t["metrics"], m["metrics"], strict=True):
                if x["value"] is None or isinstance(x["value"], str):
                    assert y["value"] == x["value"], (key, t["value_or_threshold"], x, y)
                else:
                    assert y["value"] == pytest.approx(x["value"], abs=1e-12), (x, y)


@pytest.fixture()
def table() -> pd.DataFrame:
    from sagebox.datasets import generate_reviews, to_sentiment

    rng = np.random.default_rng(0)
    df = to_sentiment(generate_reviews(1500, seed=0)).drop(columns=["review_body", "review_id"])
    df["pred"] = np.where(
        rng.random(len(df)) < 0.7, df["sentiment"], rng.choice([-1, 0, 1], len(df))
    )
    df["grp"] = rng.choice(["x", "y", "z"], len(df))
    return df


def test_pre_and_post_training_match_clarify(table: pd.DataFrame) -> None:
    _compare(table, "sentiment", [1], "product_category", pred="pred", group="grp")
    _compare(table, "sentiment", [-1, 0], "product_category", ["Dresses", "Knits"], pred="pred")


def test_flip_test_and_continuous_facet_match_clarify(table: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    numeric = table.drop(columns=["grp"]).assign(
        x=rng.normal(size=len(table)), age=rng.integers(18, 80, len(table)).astype(float)
    )
    numeric["cat"] = pd.factorize(numeric.pop("product_category"))[0]
    _compare(numeric, "sentiment", [1], "cat", pred="pred")
    _compare(numeric, "sentiment", [1], "age", [40], pred="pred")


def test_edge_cases_match_clarify() -> None:
    small = pd.DataFrame(
        {
            "y": [1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1] * 5,
            "f": list("aabbbcccaddd") * 5,
            "p": [1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1] * 5,
            "g": list("uvuvuvuvuvuv") * 5,
        }
    )
    _compare(small, "y", [1], "f", pred="p", group="g")  # facet c: no positive label at all
    _compare(small.assign(y=1), "y", [1], "f", pred="p", group="g")  # all one label
    _compare(small.assign(f="a"), "y", [1], "f", pred="p", group="g")  # facet a is empty
