"""The exploration report renders in headless Chromium, offline, without JavaScript errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagebox.datasets import generate_reviews
from sagebox.explore import explore
from tests.fixtures.browser import browser_errors, open_page, wait_for


@pytest.mark.browser
def test_report_renders_every_chart(chrome_driver: Any, tmp_path: Path) -> None:
    report = explore(generate_reviews(400, seed=2), tmp_path / "report.html", title="Reviews")
    browser_errors(chrome_driver)  # forget what earlier pages logged
    open_page(chrome_driver, report.path)

    def rendered() -> int:
        return int(
            chrome_driver.execute_script(
                "return document.querySelectorAll('.js-plotly-plot .main-svg').length"
            )
        )

    wait_for(lambda: rendered() >= len(report.charts), timeout=60)
    assert browser_errors(chrome_driver) == []
    bars = chrome_driver.execute_script(
        "return document.querySelectorAll('#chart-rating_distribution .bars path').length"
    )
    assert bars == 5  # one bar per star rating
    assert chrome_driver.title.startswith("Reviews")
