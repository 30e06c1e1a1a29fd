"""The HTML reports render in headless Chromium: every chart drawn, no JavaScript error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sagebox.clarify import BiasConfig, ShapConfig, explain_text, run_bias
from tests.fixtures.browser import browser_errors, open_page, wait_for

pytestmark = pytest.mark.browser


def _check_page(driver, path: Path, title: str) -> int:  # type: ignore[no-untyped-def]
    open_page(driver, path)
    browser_errors(driver)  # drop anything logged before the page (e.g. about:blank)
    html = path.read_text(encoding="utf-8")
    expected = html.count('class="plotly-graph-div"')
    assert expected >= 2
    script = (
        "return document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 && "
        "document.querySelectorAll('.js-plotly-plot').length"
    )
    wait_for(lambda: driver.execute_script(script) == expected, timeout=60)
    assert driver.execute_script("return typeof window.Plotly") == "object"
    assert title in driver.title
    for plot in driver.find_elements("css selector", ".js-plotly-plot"):
        assert plot.find_elements("css selector", "svg.main-svg"), plot.get_attribute("id")
    assert browser_errors(driver) == []
    return expected


def test_bias_report_renders(chrome_driver, reviews: pd.DataFrame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = reviews.assign(predicted=reviews["sentiment"].sample(frac=1, random_state=1).to_numpy())
    config = BiasConfig(
        "sentiment", [1], "product_category", predicted_label="predicted", bootstrap=20
    )
    paths = run_bias(table, config).write(tmp_path)
    # label mix, pre-training bars, one-vs-rest heatmap, post-training bars
    assert _check_page(chrome_driver, paths["report"], "Bias report") == 4
    text = chrome_driver.find_element("tag name", "body").text
    assert "What the metrics mean" in text and "Class Imbalance (CI)" in text


def test_explanation_report_renders(
    chrome_driver, text_model, reviews: pd.DataFrame, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    labels = [str(c) for c in text_model.classes_]
    result = explain_text(
        text_model.predict_proba,
        reviews["review_body"].head(6).tolist(),
        labels,
        ShapConfig(num_samples=30),
    )
    paths = result.write(tmp_path)
    assert _check_page(chrome_driver, paths["report"], "Explanations") == 2
    assert chrome_driver.find_elements("css selector", ".review .tok")
