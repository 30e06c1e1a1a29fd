"""Bias metrics on the real Women's E-Commerce Clothing Reviews, checked against plain pandas."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from sagebox.clarify import BiasConfig, load_table, run_bias

pytestmark = pytest.mark.realdata


def test_real_reviews_by_product_category(shared_reviews_csv: Path, tmp_path: Path) -> None:
    table, transformed = load_table(shared_reviews_csv)
    assert transformed and {"sentiment", "product_category"} <= set(table.columns)
    started = time.perf_counter()
    result = run_bias(table, BiasConfig("sentiment", [1], "product_category", bootstrap=50))
    assert time.perf_counter() - started < 10
    data = result.details["data"]
    kept = table.dropna(subset=["product_category"])
    assert data["rows"] == len(kept) and data["dropped_rows_with_missing_values"] == len(
        table
    ) - len(kept)
    entries = result.analysis["pre_training_bias_metrics"]["facets"]["product_category"]
    assert len(entries) == kept["product_category"].nunique() >= 18
    positive = kept["sentiment"].eq(1)
    for entry in entries:
        d = kept["product_category"].eq(entry["value_or_threshold"])
        got = {m["name"]: m["value"] for m in entry["metrics"]}
        n_d, n_a = d.sum(), (~d).sum()
        assert got["CI"] == pytest.approx((n_a - n_d) / len(kept), abs=1e-12)
        q_a, q_d = positive[~d].mean(), positive[d].mean()
        assert got["DPL"] == pytest.approx(q_a - q_d, abs=1e-12)
        if 0 < q_d < 1:  # both label values present in both groups: textbook KL
            kl = (1 - q_a) * math.log((1 - q_a) / (1 - q_d)) + q_a * math.log(q_a / q_d)
            assert got["KL"] == pytest.approx(kl, abs=1e-12)
    paths = result.write(tmp_path)
    assert paths["report"].stat().st_size > 1_000_000  # plotly is embedded
