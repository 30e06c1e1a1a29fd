"""Kernel SHAP (tabular) and token-level SHAP (text), kept small for speed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sagebox.clarify import ShapConfig, TextConfig, explain_tabular, explain_text, load_text_model
from sagebox.clarify.explain import aggregate
from sagebox.clarify.text_shap import tokenize
from sagebox.errors import ConfigError, InputDataError

WEIGHTS = np.array([2.0, -1.0, 0.5])


def _linear(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy() @ WEIGHTS


@pytest.fixture()
def tabular() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])


def test_linear_model_gets_exact_shap_values(tabular: pd.DataFrame) -> None:
    baseline = [[0.0, 0.0, 0.0]]
    config = ShapConfig(baseline=baseline, num_samples=50, seed=1)
    result = explain_tabular(_linear, tabular, config, rows=tabular.head(4))
    assert result.label_names == ["label0"] and result.expected_values == [0.0]
    for record, (_, row) in zip(result.local, tabular.head(4).iterrows(), strict=True):
        for column, weight in zip("abc", WEIGHTS, strict=True):
            assert record["shap_values"]["label0"][column] == pytest.approx(weight * row[column])
    glob = result.global_importance["label0"]
    assert list(glob) == ["a", "b", "c"]  # sorted by importance
    expected = np.abs(tabular.head(4).to_numpy() * WEIGHTS).mean(axis=0)
    assert [glob[c] for c in "abc"] == pytest.approx(expected.tolist())
    assert result.analysis["explanations"]["kernel_shap"]["label0"]["expected_value"] == 0.0


def test_kmeans_baseline_logit_and_seed(tabular: pd.DataFrame) -> None:
    def proba(frame: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-_linear(frame)))
        return np.column_stack([1 - p, p])

    config = ShapConfig(num_clusters=3, num_samples=20, use_logit=True, seed=5)
    one = explain_tabular(proba, tabular, config, rows=tabular.head(3), label_names=["0", "1"])
    two = explain_tabular(proba, tabular, config, rows=tabular.head(3), label_names=["0", "1"])
    assert one.local == two.local
    assert "K-means" in one.info["baseline"]
    # with the logit link, values of a row add up to logit(f(x)) - expected value
    record = one.local[0]
    total = sum(record["shap_values"]["1"].values())
    p = proba(tabular.head(1))[0, 1]
    assert total == pytest.approx(np.log(p / (1 - p)) - one.expected_values[1], abs=1e-6)


@pytest.mark.parametrize(
    ("method", "expected"),
    # column 0: -1, 0, 3, 2; column 1: -2, -2, 2, -2
    [("mean_abs", [1.5, 2.0]), ("median", [1.0, -2.0]), ("mean_sq", [3.5, 4.0])],
)
def test_aggregation_methods(method: str, expected: list[float]) -> None:
    values = np.array([[-1.0, -2.0], [0.0, -2.0], [3.0, 2.0], [2.0, -2.0]])
    assert aggregate(values, method).tolist() == pytest.approx(expected)


def test_unknown_aggregation_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="agg_method"):
        ShapConfig(agg_method="max")


def test_tokenizer_keeps_apostrophes() -> None:
    text = "Don't buy it, it's 2 sizes off!"
    assert [text[s:e] for s, e in tokenize(text)] == [
        "Don't",
        "buy",
        "it",
        "it's",
        "2",
        "sizes",
        "off",
    ]


def test_text_shap_on_any_predict_proba_function() -> None:
    def toy(texts: list[str]) -> np.ndarray:
        score = np.array([t.lower().count("bad") - t.lower().count("good") for t in texts], float)
        neg = 1 / (1 + np.exp(-score))
        return np.column_stack([neg, 1 - neg])

    reviews = ["good dress, bad zipper, bad seams", "good good fit", "bad"]
    result = explain_text(toy, reviews, ["-1", "1"], ShapConfig(num_samples=64, seed=0))
    for record in result.local:
        for label in ("-1", "1"):  # additivity: values + baseline = prediction
            total = sum(t["shap"][label] for t in record["tokens"])
            assert total + record["expected_value"][label] == pytest.approx(
                record["probabilities"][label]
            )
    first = {t["token"]: t["shap"]["-1"] for t in result.local[0]["tokens"]}
    assert first["bad"] > 0 > first["good"]
    assert first["dress"] == pytest.approx(0.0, abs=1e-9)
    assert result.local[2]["predicted_label"] == "-1"


def test_text_shap_on_linear_text_model(text_model, reviews: pd.DataFrame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    texts = reviews["review_body"].head(5).tolist() + [""]
    labels = [str(c) for c in text_model.classes_]
    config = ShapConfig(num_samples=40, seed=2)
    result = explain_text(text_model.predict_proba, texts, labels, config, TextConfig(min_count=1))
    assert len(result.local) == 6 and result.local[-1]["tokens"] == []
    for record in result.local:
        total = sum(t["shap"]["-1"] for t in record["tokens"])
        assert total + record["expected_value"]["-1"] == pytest.approx(
            record["probabilities"]["-1"], abs=1e-6
        )
    assert set(result.top_words) == {"-1", "0", "1"}
    again = explain_text(text_model.predict_proba, texts, labels, config, TextConfig(min_count=1))
    assert again.local == result.local  # seeded
    paths = result.write(tmp_path)
    lines = paths["local"].read_text().splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["tokens"]
    analysis = json.loads(paths["analysis"].read_text())
    assert set(analysis["explanations"]["kernel_shap"]) == {"-1", "0", "1"}


def test_packaged_model_loads_for_explaining(model_tar: Path) -> None:
    model = load_text_model(model_tar)
    assert model.classes == ["-1", "0", "1"]
    assert model.label_titles["-1"] == "negative"
    proba = model.predict_proba(["I love it", "awful, returned it"])
    assert proba.shape == (2, 3)
    assert model.predict(["I love it"]) in (["-1"], ["0"], ["1"])


def test_wrong_width_is_a_clear_error() -> None:
    with pytest.raises(InputDataError, match="expected"):
        explain_text(lambda t: np.ones((len(t), 2)), ["one two"], ["a", "b", "c"])
