"""analysis.json has SageMaker Clarify's layout; the other outputs are well-formed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sagebox.clarify import POST_TRAINING, PRE_TRAINING, BiasConfig, run_bias


def test_analysis_json_layout(reviews: pd.DataFrame, tmp_path: Path) -> None:
    table = reviews.assign(predicted=reviews["sentiment"].sample(frac=1, random_state=0).to_numpy())
    config = BiasConfig("sentiment", [1], "product_category", predicted_label="predicted")
    paths = run_bias(table, config).write(tmp_path)
    assert sorted(p.name for p in paths.values()) == [
        "analysis.json",
        "bias_details.json",
        "report.html",
    ]
    analysis = json.loads(paths["analysis"].read_text(), parse_constant=_no_constants)
    assert analysis["version"] == "1.0"
    assert set(analysis) == {"version", "pre_training_bias_metrics", "post_training_bias_metrics"}
    for stage, names in (
        ("pre_training_bias_metrics", PRE_TRAINING),
        ("post_training_bias_metrics", POST_TRAINING),
    ):
        section = analysis[stage]
        assert section["label"] == "sentiment"
        assert section["label_value_or_threshold"] == "1"
        facet = section["facets"]["product_category"]
        values = [e["value_or_threshold"] for e in facet]
        # one entry per category, in order of first appearance (Clarify's one-vs-all order)
        assert values == list(dict.fromkeys(table["product_category"].dropna()))
        for entry in facet:
            assert set(entry) == {"value_or_threshold", "metrics"}
            assert [m["name"] for m in entry["metrics"]] == list(names)
            for metric in entry["metrics"]:
                assert set(metric) <= {"name", "description", "value", "error"}
                assert metric["description"].endswith(f"({metric['name']})")
                if metric["value"] is None:
                    assert metric["error"]
                else:
                    assert isinstance(metric["value"], float | str)


def test_details_file(reviews: pd.DataFrame) -> None:
    details = run_bias(reviews, BiasConfig("sentiment", [1], "product_category")).details
    assert details["label_classes"] == ["-1", "0", "1"]
    assert details["data"]["rows"] + details["data"]["dropped_rows_with_missing_values"] == len(
        reviews
    )
    ovr = details["one_vs_rest"]
    assert ovr["label_values"] == ["-1", "0", "1"] and ovr["bootstrap"] == 200
    assert {r["metric"] for r in ovr["rows"]} == {"DPL", "KL", "JS", "LP", "TVD", "KS"}
    assert details["summary"]["findings"]
    json.dumps(details, allow_nan=False)


def _no_constants(name: str) -> None:
    raise AssertionError(f"analysis.json holds the non-JSON constant {name}")
