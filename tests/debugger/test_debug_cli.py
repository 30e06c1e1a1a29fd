"""``sagebox debug`` and ``sagebox jobs watch`` through the real command, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobRecord, JobStatus, RuleEvaluationRecord
from sagebox.session import Session
from tests.debugger.profiled_job import debug_dir, make_profiled_job, write_events

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def cli(sagebox_env: Path) -> Cli:
    """Run ``python -m sagebox ARGS`` with the test's SAGEBOX_HOME and a wide terminal."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagebox", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "COLUMNS": "200"},
        )

    return run


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


def _clean_error(result: subprocess.CompletedProcess[str], fragment: str) -> list[str]:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert lines[1].startswith("hint: ")
    return lines


def test_help_everywhere(cli: Cli) -> None:
    for args in (
        ["debug"],
        ["debug", "rules"],
        ["debug", "report"],
        ["debug", "list-rules"],
        ["jobs", "watch"],
    ):
        result = cli(*args, "--help")
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage" in result.stdout
    assert "list-rules" in cli("debug", "--help").stdout
    assert "watch" in cli("jobs", "--help").stdout


def test_rules_table_and_json(cli: Cli, session: Session) -> None:
    make_profiled_job(session, events=False)
    result = cli("debug", "rules", "training-profiled")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    overfit = next(line for line in lines if "Overfit" in line)
    for cell in ("debugger", "IssuesFound", "30", "validation loss 0.80 is 27x"):
        assert cell in overfit
    assert "NoIssuesFound" in next(line for line in lines if "LossNotDecreasing" in line)
    assert "NotEvaluated" in next(line for line in lines if "StepOutlier" in line)
    assert "Completed" in lines[0]

    rows = json.loads(cli("debug", "rules", "training-profiled", "--json").stdout)
    assert [(r["rule"], r["status"], r["step"]) for r in rows] == [
        ("Overfit", "IssuesFound", 30),
        ("LossNotDecreasing", "NoIssuesFound", None),
        ("StepOutlier", "NotEvaluated", None),
    ]
    assert rows[0]["evidence"] == {"train_loss": 0.03, "validation_loss": 0.8}
    assert rows[0]["actions"] == [{"type": "stop_training", "result": "job stopped"}]
    assert rows[0]["recommendation"] and rows[2]["kind"] == "profiler"


def test_rules_of_a_job_without_rules(cli: Cli, session: Session) -> None:
    session.metadata.create_job(JobRecord(name="training-plain", kind="training"))
    result = cli("debug", "rules", "training-plain")
    assert result.returncode == 0
    assert "has no rules" in result.stdout and "list-rules" in result.stdout
    assert json.loads(cli("debug", "rules", "training-plain", "--json").stdout) == []


def test_unknown_job_is_a_one_line_error(cli: Cli) -> None:
    for args in (["debug", "rules"], ["debug", "report"], ["jobs", "watch", "--once"]):
        _clean_error(cli(*args, "nope"), "no job named 'nope'")


def test_report_command(cli: Cli, session: Session, tmp_path: Path) -> None:
    make_profiled_job(session)
    out = tmp_path / "reports" / "p.html"
    result = cli("debug", "report", "training-profiled", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    html = out.read_text(encoding="utf-8")
    assert "Profiler report: training-profiled" in html and 'id="chart-cpu-heatmap-algo-1"' in html
    result = cli("debug", "report", "training-profiled", "-o", str(out), "--json")
    assert json.loads(result.stdout) == {"job": "training-profiled", "path": str(out)}


def test_report_of_a_job_without_debug_data(cli: Cli, session: Session, tmp_path: Path) -> None:
    session.metadata.create_job(JobRecord(name="training-plain", kind="training"))
    lines = _clean_error(
        cli("debug", "report", "training-plain", "--out", str(tmp_path / "r.html")),
        "training-plain has no debug or profiler data",
    )
    assert "docs/debugger.md" in lines[1]
    assert not (tmp_path / "r.html").exists()


# The built-in rules (other tests register rules of their own in this process's registry).
BUILTIN_RULES = (
    "LossNotDecreasing",
    "Overfit",
    "Overtraining",
    "VanishingGradient",
    "ExplodingTensor",
    "PoorWeightInitialization",
    "ClassImbalance",
    "DeadRelu",
    "StalledTrainingRule",
    "CPUBottleneck",
    "IOBottleneck",
    "LowGPUUtilization",
    "StepOutlier",
    "BatchSize",
)


def test_list_rules(cli: Cli) -> None:
    from sagebox.debugger.rule import get_rule

    rules = json.loads(cli("debug", "list-rules", "--json").stdout)
    assert sorted(r["name"] for r in rules) == sorted(BUILTIN_RULES)
    by_name = {r["name"]: r for r in rules}
    for name in ("LossNotDecreasing", "Overfit", "StalledTrainingRule", "ExplodingTensor"):
        assert by_name[name]["kind"] == "debugger"
        assert by_name[name]["parameters"] == get_rule(name).defaults
    for name in ("CPUBottleneck", "IOBottleneck", "LowGPUUtilization", "StepOutlier", "BatchSize"):
        assert by_name[name]["kind"] == "profiler"
    assert "stalled_training" in by_name["StalledTrainingRule"]["aliases"]
    profiler = json.loads(cli("debug", "list-rules", "--kind", "profiler", "--json").stdout)
    assert {r["kind"] for r in profiler} == {"profiler"} and len(profiler) == 5
    table = cli("debug", "list-rules").stdout
    assert "Overfit" in table and "patience=" in table
    _clean_error(cli("debug", "list-rules", "--kind", "tensor"), "unknown rule kind 'tensor'")


def test_watch_once_shows_status_metrics_and_rules(cli: Cli, session: Session) -> None:
    make_profiled_job(session)
    result = cli("jobs", "watch", "training-profiled", "--once")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "training-profiled" in out and "Completed" in out and "step 40" in out
    lines = out.splitlines()
    assert "0.81" in next(line for line in lines if "validation:accuracy" in line)
    assert "0.025" in next(line for line in lines if "loss (train)" in line)
    assert "0.9" in next(line for line in lines if "loss (eval)" in line)
    assert "IssuesFound" in next(line for line in lines if "Overfit" in line)


def test_watch_follows_a_running_job_until_it_ends(sagebox_env: Path, session: Session) -> None:
    make_profiled_job(session, "training-run", events=False, status=JobStatus.IN_PROGRESS)
    env = {**os.environ, "COLUMNS": "200", "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagebox", "jobs", "watch", "training-run", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()

    def wait_for(fragment: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while fragment not in "".join(seen):
            assert proc.poll() is None or fragment in "".join(seen), "".join(seen)
            assert time.monotonic() < deadline, f"{fragment!r} not shown: {''.join(seen)}"
            time.sleep(0.05)

    try:
        wait_for("watching until the job ends")
        assert "InProgress" in "".join(seen)
        write_events(debug_dir(session, "training-run"))  # the job trains: scalars appear
        wait_for("step 40")
        session.metadata.put_rule_evaluation(
            RuleEvaluationRecord(
                job_name="training-run",
                rule_name="StepOutlier",
                kind="profiler",
                status="IssuesFound",
                step=25,
                message="1 step took more than mean + 3 stddev",
            )
        )
        wait_for("1 step took more than")
        shown = len(seen)
        assert "Completed" not in "".join(seen)
        session.metadata.update_job("training-run", status=JobStatus.COMPLETED)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
    assert "Completed" in "".join(seen[shown:])
