"""Write a training job's profiler report and save a full-page screenshot of it.

This is how ``docs/images/profiler-report.png`` is made: the report of a real job (for example
the text-transformer fine-tuned on the reviews with the default rules) is opened in headless
Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by selenium, as the browser tests
do), every chart is waited for, and the whole page is captured.

Usage::

    python bench/profiler_report_screenshot.py JOB [--html report.html] \
        [--png docs/images/profiler-report.png] [--width 1400]

It prints one JSON line: the paths written, the number of charts drawn and any JavaScript
errors the page logged (there should be none). The job is read from the current
``SAGEBOX_HOME``/``sagebox.toml`` settings, like every ``sagebox`` command.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
)


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


def screenshot(html: Path, png: Path, width: int = 1400, timeout: float = 90.0) -> dict[str, Any]:
    """Open ``html`` in headless Chromium, wait for every chart, save a full-page PNG."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = _find(("chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"))
    driver_path = _find(("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"))
    if browser is None or driver_path is None:
        sys.exit("headless Chromium is not installed: apt-get install chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="sagebox-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROME_FLAGS, f"--window-size={width},1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(html.resolve().as_uri())
        expected = html.read_text(encoding="utf-8").count('class="plotly-graph-div"')
        script = "return document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 && "
        script += "document.querySelectorAll('.js-plotly-plot').length"
        deadline = time.monotonic() + timeout
        while driver.execute_script(script) != expected:
            if time.monotonic() > deadline:
                sys.exit(f"the report's {expected} charts did not all render within {timeout} s")
            time.sleep(0.2)
        time.sleep(1.0)  # let Plotly finish its layout transitions before capturing
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False},
        )
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(base64.b64decode(shot["data"]))
        errors = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        return {"charts": expected, "height": int(height), "js_errors": errors}
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("job", help="the training job whose report to capture")
    parser.add_argument("--html", type=Path, default=None, help="where to write the report")
    parser.add_argument(
        "--png", type=Path, default=ROOT / "docs" / "images" / "profiler-report.png"
    )
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    from sagebox.profiler.report import write_profiler_report

    html = args.html or Path(tempfile.mkdtemp(prefix="sagebox-report-")) / "report.html"
    write_profiler_report(args.job, html)
    result = screenshot(html, args.png, args.width)
    print(json.dumps({"job": args.job, "html": str(html), "png": str(args.png), **result}))


if __name__ == "__main__":
    main()
