"""The profiler report renders in headless Chromium: every chart drawn, no JavaScript error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagebox.profiler.report import write_profiler_report
from sagebox.session import Session
from tests.debugger.profiled_job import make_profiled_job
from tests.fixtures.browser import (
    browser_errors,
    chrome_driver,  # noqa: F401 - the fixture
    full_page_screenshot,
    open_page,
    wait_for,
)

pytestmark = pytest.mark.browser


def test_profiler_report_renders(chrome_driver: Any, sagebox_env: Path, tmp_path: Path) -> None:  # noqa: F811
    session = Session()
    make_profiled_job(session)
    path = write_profiler_report("training-profiled", tmp_path / "report.html", session)
    html = path.read_text(encoding="utf-8")
    expected = html.count('class="plotly-graph-div"')
    assert expected == 6  # system, CPU heat map, step duration, phases, loss, learning rate
    browser_errors(chrome_driver)  # forget what earlier pages logged
    open_page(chrome_driver, path)
    drawn = (
        "return document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 && "
        "document.querySelectorAll('.js-plotly-plot').length"
    )
    wait_for(lambda: chrome_driver.execute_script(drawn) == expected, timeout=60)
    assert browser_errors(chrome_driver) == []
    assert chrome_driver.title.startswith("Profiler report: training-profiled")

    def count(selector: str) -> int:
        return int(
            chrome_driver.execute_script(f"return document.querySelectorAll({selector!r}).length")
        )

    assert (
        count("#chart-cpu-heatmap-algo-1 .heatmaplayer image, #chart-cpu-heatmap-algo-1 .hm") >= 1
    )
    assert count("#chart-system .scatterlayer .trace") == 6  # CPU, memory, disk x2, network x2
    assert count("#chart-phases .slice") == 5  # data, forward, backward, optimizer, other
    assert count("#chart-step-duration .scatterlayer .trace") == 2  # steps and the outlier
    assert count("#rules-table tr[data-rule]") == 3
    body = chrome_driver.find_element("tag name", "body").text
    assert "What to look at first" in body and "IssuesFound" in body

    shot = full_page_screenshot(chrome_driver, tmp_path / "profiler-report.png")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000
