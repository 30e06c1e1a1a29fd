"""The profiler report: every section from real event files, lake fallback, figures, bad input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.debugger.events import EventWriter
from sagebox.debugger.rule import get_rule
from sagebox.errors import NotFoundError
from sagebox.profiler import _report_charts as charts
from sagebox.profiler._report_data import (
    lake_debug_prefix,
    phase_breakdown,
    rule_rows,
    step_durations,
    step_outlier_threshold,
    throughput,
)
from sagebox.profiler.report import write_profiler_report
from sagebox.session import Session
from tests.debugger.profiled_job import (
    BATCH,
    CORES,
    OUTLIER_STEP,
    STEPS,
    T0,
    debug_dir,
    make_profiled_job,
    write_events,
)


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


def _text(html: str) -> str:
    """The page's visible text, roughly (tags dropped, whitespace collapsed)."""
    body = html.split("<body>", 1)[1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, flags=re.S)
    assert match, f"section {section_id} missing"
    return match.group(1)


def test_report_shows_every_section(session: Session, tmp_path: Path) -> None:
    make_profiled_job(session)
    path = write_profiler_report("training-profiled", tmp_path / "out" / "report.html", session)
    assert path == tmp_path / "out" / "report.html"
    html = path.read_text(encoding="utf-8")
    text = _text(html)
    # job summary: status, algorithm, duration, steps, throughput, instances, rule count
    assert "Profiler report: training-profiled" in html
    assert "text-transformer" in _section(html, "job-summary")
    cards = re.sub(
        r"\s+",
        " ",
        re.sub(r"<[^>]+>", " ", html.split('id="summary-cards"')[1].split("</div>\n  <p")[0]),
    )
    for expected in ("Completed", "1 min 15 s", f"{STEPS}", "72.7", "1 of 3"):
        assert expected in cards, expected
    # 40 steps x 8 samples over 4.4 s of steps
    assert f"{STEPS * BATCH / 4.4:,.1f}" == "72.7"
    assert "train:loss=0.025" in text and "epochs=1" in text
    # rules: the issue first, with its message, step, action and recommendation
    rules = _section(html, "rules")
    order = [m for m in re.findall(r'data-rule="(\w+)"', rules)]
    assert order == ["Overfit", "LossNotDecreasing", "StepOutlier"]
    overfit_row = rules.split('data-rule="Overfit"')[1].split("</tr>")[0]
    assert "IssuesFound" in overfit_row and ">30<" in overfit_row
    assert "validation loss 0.80 is 27x the training loss 0.03" in overfit_row
    assert "stop_training" in overfit_row
    recommendation = get_rule("Overfit").recommendation
    assert recommendation and recommendation in overfit_row
    assert "NotEvaluated" in rules.split('data-rule="StepOutlier"')[1]
    assert "What to look at first" in text and recommendation in _section(html, "issues")
    # system utilisation: statistics table and the timeline, per-core heat map
    system = _section(html, "system")
    assert "every 500 ms" in system
    row = re.sub(r"<[^>]+>", "|", system.split("<td>algo-1</td>")[1].split("</tr>")[0])
    cells = [c for c in row.split("|") if c.strip()]
    assert cells[:4] == ["60", str(CORES), "33% / 33%", "42% / 42%"]
    assert cells[4] == "60.0 / 15.0 MB"  # 2 MB/s and 0.5 MB/s over 60 samples of 0.5 s
    assert 'id="chart-system"' in system
    assert 'id="chart-cpu-heatmap-algo-1"' in _section(html, "cpu-cores")
    # training loop: one outlier step, the phase split
    loop = _section(html, "training-loop")
    assert re.search(r">\s*1\s*<", loop.split('id="step-table"')[1].split("</table>")[0])
    for value in ("110.0 ms", "100.0 ms", "500.0 ms"):
        assert value in loop
    assert 'id="chart-step-duration"' in loop and 'id="chart-phases"' in loop
    num = r'<td class="num">[^<]*</td>'
    phases = re.findall(rf"<td>(\w+)</td>{num}{num}<td class=\"num\">(\d+)%</td>", loop)
    assert phases == [
        ("data", "18"),
        ("forward", "36"),
        ("backward", "27"),
        ("optimizer", "9"),
        ("other", "9"),
    ]
    # debugger scalars: the loss chart carries train and eval curves
    scalars = _section(html, "debugger-scalars")
    assert 'id="chart-scalar-loss"' in scalars and 'id="chart-scalar-learning-rate"' in scalars
    loss_chart = scalars.split('id="chart-scalar-loss"')[1]
    assert '"name":"train"' in loss_chart and '"name":"eval"' in loss_chart
    # self-contained: nothing fetched from the network
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"?https?:", html)
    assert "Plotly" in html.split("</head>")[0]


@pytest.mark.parametrize("recorded", [False, True])
def test_report_reads_the_lake_copy_when_the_workdir_is_gone(
    session: Session, tmp_path: Path, recorded: bool
) -> None:
    make_profiled_job(session, "training-remote")
    prefix = "elsewhere/debug/" if recorded else lake_debug_prefix("training-remote")
    if recorded:  # the job recorded where its debug output went
        output = {"debug_output": session.storage.url(prefix.rstrip("/"))}
        session.metadata.update_job("training-remote", outputs=output)
    local = debug_dir(session, "training-remote")
    for file in local.rglob("*.jsonl"):
        session.storage.upload(file, prefix + file.relative_to(local).as_posix())
    shutil.rmtree(session.settings.jobs_dir / "training-remote")
    html = write_profiler_report("training-remote", tmp_path / "r.html", session).read_text()
    for chart in ("system", "cpu-heatmap-algo-1", "step-duration", "phases", "scalar-loss"):
        assert f'id="chart-{chart}"' in html
    assert f"{STEPS * BATCH / 4.4:,.1f}" in html


def test_report_of_a_running_job_with_a_gpu(session: Session, tmp_path: Path) -> None:
    make_profiled_job(session, "training-live", events=False, status=JobStatus.IN_PROGRESS)
    write_events(debug_dir(session, "training-live"), gpu=True)
    html = write_profiler_report("training-live", tmp_path / "r.html", session).read_text()
    text = _text(html)
    assert "has been running" in text and "still running" in text
    assert "GPU utilisation and memory (%)" in html
    assert "GPU mean" in text and "55%" in _section(html, "system")


def test_report_without_events_but_with_rule_statuses(session: Session, tmp_path: Path) -> None:
    make_profiled_job(session, "training-rules-only", events=False)
    html = write_profiler_report("training-rules-only", tmp_path / "r.html", session).read_text()
    assert "saved no debug or profiler data" in html
    assert "plotly-graph-div" not in html
    assert "IssuesFound" in _section(html, "rules")


def test_job_without_any_debug_data_is_a_clear_error(session: Session, tmp_path: Path) -> None:
    from sagebox.backends.metadata.base import JobRecord

    session.metadata.create_job(JobRecord(name="training-plain", kind="training"))
    with pytest.raises(NotFoundError, match="training-plain has no debug or profiler data") as err:
        write_profiler_report("training-plain", tmp_path / "r.html", session)
    assert err.value.hint and "debug-output" in err.value.hint
    assert not (tmp_path / "r.html").exists()


def test_unknown_job(session: Session, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no job named 'nope'"):
        write_profiler_report("nope", tmp_path / "r.html", session)


def test_report_replaces_an_existing_file(session: Session, tmp_path: Path) -> None:
    make_profiled_job(session)
    out = tmp_path / "reports" / "r.html"
    out.parent.mkdir()
    out.write_text("old")
    write_profiler_report("training-profiled", out, session)
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left


# -- the figures behind the report -------------------------------------------------------------


def _framework(tmp_path: Path) -> list[dict]:
    from sagebox.debugger.events import EventReader

    write_events(tmp_path)
    return EventReader(tmp_path, "framework").read_new()


def test_step_durations_and_outlier_threshold(tmp_path: Path) -> None:
    durations = step_durations(_framework(tmp_path))
    assert [s for s, _ in durations] == list(range(1, STEPS + 1))
    assert durations[OUTLIER_STEP - 1][1] == pytest.approx(0.5)
    threshold = step_outlier_threshold([d for _, d in durations], 3.0)
    assert threshold is not None
    assert [s for s, d in durations if d > threshold] == [OUTLIER_STEP]
    assert step_outlier_threshold([0.1, 0.2], 3.0) is None


def test_report_reads_the_first_host_s_steps_and_every_host_s_system(
    session: Session, tmp_path: Path
) -> None:
    make_profiled_job(session, "training-two-hosts")
    root = debug_dir(session, "training-two-hosts")
    write_events(root, host="algo-2")
    writer = EventWriter(root, "framework", "algo-2")
    writer.write({"step": 1, "phase": "step", "start": T0, "end": T0 + 9.0, "batch_size": 8})
    writer.close()
    html = write_profiler_report("training-two-hosts", tmp_path / "r.html", session).read_text()
    assert "9,000.0 ms" not in html  # algo-2's slow step is not algo-1's
    assert "500.0 ms" in _section(html, "training-loop")
    system = _section(html, "system")
    assert "<td>algo-1</td>" in system and "<td>algo-2</td>" in system
    assert '"name":"CPU total (algo-2)"' in system
    heatmaps = _section(html, "cpu-cores")
    assert 'id="chart-cpu-heatmap-algo-1"' in heatmaps
    assert 'id="chart-cpu-heatmap-algo-2"' in heatmaps


def test_phase_breakdown_counts_data_waiting_once(tmp_path: Path) -> None:
    parts = phase_breakdown(_framework(tmp_path))
    assert parts["data"] == pytest.approx(STEPS * 0.02)
    assert parts["forward"] == pytest.approx(STEPS * 0.03 + 0.4)
    assert sum(parts.values()) == pytest.approx(STEPS * 0.1 + 0.4)
    # data timed before the step interval: added to the loop time, not taken out of "other"
    outside = [
        {"phase": "data", "start": 0.0, "end": 0.5, "host": "h"},
        {"phase": "step", "start": 0.5, "end": 1.0, "host": "h"},
        {"phase": "forward", "start": 0.5, "end": 0.8, "host": "h"},
    ]
    parts = phase_breakdown(outside)
    assert parts["data"] == pytest.approx(0.5) and parts["other"] == pytest.approx(0.2)
    assert phase_breakdown([]) == {}


def test_throughput(tmp_path: Path) -> None:
    assert throughput(_framework(tmp_path)) == pytest.approx(STEPS * BATCH / 4.4)
    assert throughput([{"phase": "step", "start": 0.0, "end": 1.0}]) is None


def test_rule_rows_add_configured_rules_and_recommendations(session: Session) -> None:
    job = make_profiled_job(session, events=False)
    rows = rule_rows(job, session.metadata.list_rule_evaluations(job.name))
    assert [(r.name, r.status) for r in rows] == [
        ("Overfit", "IssuesFound"),
        ("LossNotDecreasing", "NoIssuesFound"),
        ("StepOutlier", "NotEvaluated"),
    ]
    step_outlier = rows[2]
    assert step_outlier.kind == "profiler"
    assert step_outlier.recommendation == get_rule("StepOutlier").recommendation
    assert rows[0].evidence == {"train_loss": 0.03, "validation_loss": 0.8}


def test_long_runs_are_binned(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, "system", "algo-1")
    for i in range(3000):
        writer.write({"time": float(i), "cpu": [float(i % 100)] * 2, "cpu_total": 50.0})
    writer.close()
    from sagebox.debugger.events import EventReader

    system = EventReader(tmp_path, "system").read_new()
    heatmap = charts.cpu_heatmap(system, 0.0, 60.0, "minutes since start", "algo-1")
    assert heatmap is not None
    assert len(heatmap.data[0].x) == charts.MAX_HEATMAP_BINS
    assert len(heatmap.data[0].z) == 2
    timeline = charts.system_timeline(system, 0.0, 60.0, "minutes since start")
    assert timeline is not None and len(timeline.data[0].x) <= charts.MAX_POINTS
    short = charts.cpu_heatmap(system[:100], 0.0, 1.0, "seconds since start", "algo-1")
    assert short is not None and list(short.data[0].x) == [float(i) for i in range(100)]
    assert None not in short.data[0].z[0]  # one column per sample: no empty bins
    assert charts.time_unit(3000) == (60.0, "minutes since start")
    assert charts.time_unit(30) == (1.0, "seconds since start")
    assert charts.time_unit(5 * 3600)[1] == "hours since start"


def test_long_step_series_are_binned_but_every_outlier_is_drawn() -> None:
    durations = [(step, 0.5 if step % 1000 == 0 else 0.1) for step in range(1, 20_001)]
    threshold = step_outlier_threshold([d for _, d in durations], 3.0)
    fig = charts.step_chart(durations, threshold, 3.0)
    assert fig is not None
    steps, outliers = fig.data
    assert len(steps.x) <= charts.MAX_LINE_POINTS
    assert list(outliers.x) == list(range(1000, 20_001, 1000))
    loss = {("loss", "train"): [(s, 1.0 / s) for s in range(1, 20_001)]}
    ((name, curve),) = charts.scalar_charts(loss)
    assert name == "loss" and len(curve.data[0].x) <= charts.MAX_LINE_POINTS
