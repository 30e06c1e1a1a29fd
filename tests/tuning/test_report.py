"""The tuning report: its content, its plots drawn in headless Chromium (no JS error), and
what the plots show for stopped, failed and infeasible trials and for a Pareto front."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagebox.errors import InputDataError, NotFoundError
from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    describe_tuning_job,
)
from sagebox.tuning._report_charts import (
    ReportTrial,
    objective_over_trials,
    pareto_scatter,
)
from sagebox.tuning.report import write_tuning_report
from sagebox.tuning.spec import Objective
from tests.fixtures.browser import (
    browser_errors,
    chrome_driver,  # noqa: F401 - the fixture
    full_page_screenshot,
    open_page,
    wait_for,
)

STUDY = "report-study"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """One finished 3-trial linear-text study (Random, 2 at once) for the module's tests."""
    from sagebox.datasets import generate_reviews, split_dataset, to_sentiment

    root = tmp_path_factory.mktemp("tuning-report")
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
                patch.delenv(key)
        patch.setenv("SAGEBOX_HOME", str(root / "sbhome"))
        session = Session()
        parts = split_dataset(to_sentiment(generate_reviews(200, seed=4)), 0.6, 0.2, 0.2, seed=0)
        keys = {}
        for name, part in zip(("train", "validation"), parts[:2], strict=True):
            part.to_parquet(root / f"{name}.parquet")
            keys[name] = f"prepared/{name}/part-0.parquet"
            session.storage.upload(root / f"{name}.parquet", keys[name])
        tuner = HyperparameterTuner(
            Estimator(algorithm="linear-text", hyperparameters={"min_df": 1}, session=session),
            "validation:macro_f1",
            {
                "C": ContinuousParameter(0.01, 10, "Logarithmic"),
                "ngram_max": CategoricalParameter([1, 2]),
            },
            strategy="Random",
            max_jobs=3,
            max_parallel_jobs=2,
            random_seed=2,
        )
        tuner.fit(keys, job_name=STUDY, logs=False)
        yield session


def test_report_content(tuned: Session, tmp_path: Path) -> None:
    path = write_tuning_report(tuned, STUDY, tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 3  # objective, parallel coords, curves
    for chart in ("chart-objective", "chart-parallel", "chart-curves"):
        assert f'id="{chart}"' in html
    # works offline: plotly.js is inline and nothing is loaded from elsewhere
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs() in html
    page = html.replace(get_plotlyjs(), "")
    assert "<script src=" not in page and "http://" not in page and "https://" not in page
    best = describe_tuning_job(tuned, STUDY)["BestTrainingJob"]["TrainingJobName"]
    assert 'id="best-table"' in html and f'<td class="mono">{best}</td>' in html
    assert html.count("<tr data-trial=") == 3
    assert '"best so far"' in html  # the trace of the objective plot
    for n in (1, 2, 3):
        assert f"{STUDY}-00{n}" in html
    # linear-text reports its objective once: the curves say so
    assert "reported its objective once" in html


def test_report_of_a_job_that_is_not_a_tuning_job(tuned: Session, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        write_tuning_report(tuned, "no-such-tuning", tmp_path / "r.html")
    with pytest.raises(InputDataError, match="is a training job, not a tuning job"):
        write_tuning_report(tuned, f"{STUDY}-001", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.browser
def test_report_renders_in_chromium(
    chrome_driver: Any,  # noqa: F811
    tuned: Session,
    tmp_path: Path,
) -> None:
    path = write_tuning_report(tuned, STUDY, tmp_path / "report.html")
    browser_errors(chrome_driver)  # forget what earlier pages logged
    open_page(chrome_driver, path)
    drawn = (
        "return document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 && "
        "document.querySelectorAll('.js-plotly-plot').length"
    )
    wait_for(lambda: chrome_driver.execute_script(drawn) == 3, timeout=60)

    def count(selector: str) -> int:
        script = f"return document.querySelectorAll({selector!r}).length"
        return int(chrome_driver.execute_script(script))

    # every plot has its SVG with content: points, lines, axes
    assert count("#chart-objective .scatterlayer .trace") >= 2  # trials and best so far
    assert count("#chart-objective .scatterlayer .point") >= 3
    assert count("#chart-curves .scatterlayer .trace") == 3  # one per trial
    wait_for(lambda: count("#chart-parallel .parcoords .y-axis") == 3, timeout=30)
    assert count("#chart-parallel canvas") >= 1  # the lines are drawn with WebGL
    assert browser_errors(chrome_driver) == []
    assert chrome_driver.title.startswith(f"Tuning report: {STUDY}")
    body = chrome_driver.find_element("tag name", "body").text
    assert "Best trial" in body and "Objective over trials" in body

    shot = full_page_screenshot(chrome_driver, tmp_path / "tuning-report.png")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000


def _trials() -> list[ReportTrial]:
    return [
        ReportTrial(1, "t-001", "completed", 0.60),
        ReportTrial(2, "t-002", "stopped", 0.40, curve=[(1.0, 0.3), (2.0, 0.4)]),
        ReportTrial(3, "t-003", "infeasible", 0.90),
        ReportTrial(4, "t-004", "failed", None),
        ReportTrial(5, "t-005", "completed", 0.70),
        ReportTrial(6, "t-006", "completed", 0.65),
    ]


def test_objective_plot_marks_outcomes_and_the_best_so_far() -> None:
    fig = objective_over_trials(_trials(), Objective("validation:macro_f1", "Maximize"))
    assert fig is not None
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {
        "completed",
        "stopped early",
        "completed, breaks a constraint",
        "best so far",
    }
    assert list(traces["stopped early"].x) == [2]
    assert traces["stopped early"].marker.symbol == "x"
    # neither the stopped nor the infeasible trial can be the best
    assert list(traces["best so far"].x) == [1, 2, 3, 4, 5, 6]
    assert list(traces["best so far"].y) == [0.6, 0.6, 0.6, 0.6, 0.7, 0.7]
    minimized = objective_over_trials(_trials(), Objective("loss", "Minimize"))
    assert minimized is not None
    best = next(t for t in minimized.data if t.name == "best so far")
    assert list(best.y) == [0.6] * 6
    assert objective_over_trials([ReportTrial(1, None, "running", None)], Objective("m")) is None


def test_pareto_plot_highlights_the_front() -> None:
    values = [(0.8, 300.0), (0.7, 100.0), (0.6, 200.0), (0.9, 900.0)]
    trials = [
        ReportTrial(i, f"t-00{i}", "completed", f1, values={"f1": f1, "size": size})
        for i, (f1, size) in enumerate(values, start=1)
    ]
    objectives = [Objective("f1", "Maximize"), Objective("size", "Minimize")]
    fig = pareto_scatter(trials, objectives, front={"t-001", "t-002", "t-004"})
    assert fig is not None
    front = next(t for t in fig.data if t.name == "Pareto front")
    rest = next(t for t in fig.data if t.name == "dominated")
    assert list(front.text) == ["t-002", "t-001", "t-004"]  # along the first objective
    assert list(rest.text) == ["t-003"]


def test_parallel_coordinates_axes() -> None:
    from sagebox.tuning import IntegerParameter, TuningSpec
    from sagebox.tuning._report_charts import parallel_coordinates

    spec = TuningSpec(
        training={"algorithm": "linear-text"},
        objective_metric_name="validation:macro_f1",
        ranges={
            "C": ContinuousParameter(0.01, 10, "Logarithmic"),
            "ngram_max": CategoricalParameter([1, 2]),
            "max_features": IntegerParameter(100, 900),
        },
    )
    trials = [
        ReportTrial(
            1,
            "t-001",
            "completed",
            0.6,
            hyperparameters={"C": 0.1, "ngram_max": "2", "max_features": 300},
        ),
        ReportTrial(
            2,
            "t-002",
            "stopped",
            0.5,
            hyperparameters={"C": 1.0, "ngram_max": "1", "max_features": 800},
        ),
        ReportTrial(
            3,
            "t-003",
            "failed",
            None,
            hyperparameters={"C": 5.0, "ngram_max": "1", "max_features": 200},
        ),
    ]
    fig = parallel_coordinates(trials, spec)
    assert fig is not None
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims) == ["C (log)", "ngram_max", "max_features", "validation:macro_f1"]
    assert list(dims["C (log)"].values) == pytest.approx([-1.0, 0.0])  # no objective: left out
    assert list(dims["C (log)"].ticktext) == ["0.01", "0.1", "1", "10"]
    assert list(dims["ngram_max"].values) == [1, 0] and list(dims["ngram_max"].ticktext) == [
        "1",
        "2",
    ]
    assert list(dims["validation:macro_f1"].values) == [0.6, 0.5]


def test_multi_objective_report_and_best(sagebox_env: Path, prepared: dict[str, str]) -> None:
    """Two objectives: the report has the Pareto plot and table; `tune best` the front."""
    import json
    import subprocess
    import sys

    session = Session()
    tuner = HyperparameterTuner(
        Estimator(algorithm="linear-text", hyperparameters={"min_df": 1}, session=session),
        "validation:macro_f1",
        {"C": ContinuousParameter(0.01, 10, "Logarithmic")},
        objectives=[("validation:macro_f1", "Maximize"), ("model_size_bytes", "Minimize")],
        strategy="Random",
        max_jobs=2,
        max_parallel_jobs=2,
        random_seed=5,
    )
    tuner.fit(prepared, job_name="mo-study", logs=False)
    front = {t["TrainingJobName"] for t in tuner.pareto_front()}
    assert front and front <= {"mo-study-001", "mo-study-002"}

    html = write_tuning_report(session, "mo-study", sagebox_env / "mo.html").read_text("utf-8")
    assert html.count('class="plotly-graph-div"') == 4  # and the Pareto scatter
    assert 'id="chart-pareto"' in html and 'id="pareto-table"' in html
    assert 'id="best-table"' not in html
    assert '"best so far"' not in html  # no single best

    result = subprocess.run(
        [sys.executable, "-m", "sagebox", "tune", "best", "mo-study", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["ParetoFrontTrainingJobs"]
    assert {t["TrainingJobName"] for t in listed} == front
    for item in listed:
        assert set(item["FinalObjectiveValues"]) == {"validation:macro_f1", "model_size_bytes"}
