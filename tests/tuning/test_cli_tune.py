"""``sagebox tune`` end to end through the real command: create a tiny study, wait for it,
read it back (--json), stop a running one, and bad input that must fail before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.session import Session

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def cli(sagebox_env: Path) -> Cli:
    """Run the real ``sagebox`` command in a subprocess with the test's SAGEBOX_HOME."""

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagebox", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def _template(keys: dict[str, str]) -> list[str]:
    """The trial template: linear-text on the prepared splits."""
    return [
        "-a",
        "linear-text",
        "--train",
        keys["train"],
        "--validation",
        keys["validation"],
        "-H",
        "min_df=1",
        "--objective",
        "validation:macro_f1",
    ]


def _json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_create_wait_then_read_back(cli: Cli, prepared: dict[str, str], tmp_path: Path) -> None:
    created = cli(
        "tune",
        "create",
        *_template(prepared),
        "-R",
        "C=0.01:10:log",
        "-R",
        "ngram_max=1,2",
        "--strategy",
        "Random",
        "--max-jobs",
        "2",
        "--max-parallel-jobs",
        "2",
        "--seed",
        "1",
        "--name",
        "cli-tune",
        "--json",
    )
    described = _json(created)
    assert isinstance(described, dict)
    # without a terminal, progress is plain lines, on stderr under --json
    assert "trial 1/2 cli-tune-001" in created.stderr
    assert "Completed validation:macro_f1=" in created.stderr
    assert described["HyperParameterTuningJobName"] == "cli-tune"
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    config = described["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["RandomSeed"] == 1
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2}
    ranges = config["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "C", "MinValue": "0.01", "MaxValue": "10", "ScalingType": "Logarithmic"}
    ]
    assert ranges["CategoricalParameterRanges"] == [{"Name": "ngram_max", "Values": ["1", "2"]}]
    assert described["TrainingJobDefinition"]["StaticHyperParameters"] == {"min_df": "1"}
    best = described["BestTrainingJob"]["TrainingJobName"]
    assert best in ("cli-tune-001", "cli-tune-002")

    assert _json(cli("tune", "describe", "cli-tune", "--json")) == described
    text = cli("tune", "describe", "cli-tune")
    assert text.returncode == 0 and f"best training job: {best}" in text.stdout

    trials = _json(cli("tune", "trials", "cli-tune", "--json"))
    assert isinstance(trials, list)
    assert [t["TrainingJobName"] for t in trials] == ["cli-tune-001", "cli-tune-002"]
    for trial in trials:
        assert trial["TrainingJobStatus"] == "Completed"
        assert 0.01 <= trial["C"] <= 10 and trial["ngram_max"] in ("1", "2")
        assert 0 <= trial["FinalObjectiveValue"] <= 1
    top = max(trials, key=lambda t: t["FinalObjectiveValue"])
    assert top["TrainingJobName"] == best

    chosen = _json(cli("tune", "best", "cli-tune", "--json"))
    assert isinstance(chosen, dict)
    assert chosen["TrainingJobName"] == best
    assert chosen["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "MetricName": "validation:macro_f1",
        "Value": top["FinalObjectiveValue"],
    }
    assert chosen["HyperParameters"]["min_df"] == 1
    assert set(chosen["TunedHyperParameters"]) == {"C", "ngram_max"}

    listed = _json(cli("tune", "list", "--json"))
    assert isinstance(listed, list)
    assert [j["HyperParameterTuningJobName"] for j in listed] == ["cli-tune"]
    assert listed[0]["BestTrainingJobName"] == best
    training = _json(cli("jobs", "list", "--kind", "training", "--json"))
    assert isinstance(training, list)
    assert sorted(j["name"] for j in training) == ["cli-tune-001", "cli-tune-002"]

    report = cli("tune", "report", "cli-tune", "-o", str(tmp_path / "r.html"), "--json")
    assert _json(report) == {"tuning_job": "cli-tune", "path": str(tmp_path / "r.html")}
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("plotly-graph-div") == 3

    # the live view `tune create --wait` shows on a terminal, rendered once
    from rich.console import Console

    from sagebox.cli._tune_views import live_view

    console = Console(record=True, width=200)
    console.print(live_view(Session(), Session().metadata.get_job("cli-tune")))
    shown = console.export_text()
    assert "tuning job cli-tune (Random, Maximize validation:macro_f1) · Completed" in shown
    assert "cli-tune-001" in shown and "cli-tune-002" in shown and "best" in shown

    # reading commands on something that is not a tuning job: one-line errors
    wrong = cli("tune", "describe", "cli-tune-001")
    assert wrong.returncode == 1 and "is a training job, not a tuning job" in wrong.stderr
    missing = cli("tune", "best", "no-such-tuning")
    assert missing.returncode == 1 and missing.stderr.startswith("error:")


BAD_INPUTS = {
    "min above max": (["-R", "C=10:0.1"], "C: min_value 10 must be below max_value 0.1"),
    "log range touching 0": (
        ["-R", "C=0:1:log"],
        "C: a Logarithmic range needs min_value > 0, got 0",
    ),
    "grid with a continuous range": (
        ["-R", "C=0.1:10", "-R", "ngram_max=1,2", "--strategy", "Grid"],
        "Grid search takes categorical ranges only; C is not",
    ),
    "more parallel than jobs": (
        ["-R", "C=0.1:10", "--max-jobs", "2", "--max-parallel-jobs", "3"],
        "max_parallel_jobs (3) exceeds max_jobs (2)",
    ),
    "unknown hyperparameter": (["-R", "no_such_knob=0.1:1"], "no_such_knob"),
    "bad range syntax": (["-R", "C"], "bad range 'C'"),
    "parent without a warm-start type": (
        ["-R", "C=0.1:10", "--parent", "earlier-tuning"],
        "--parent needs --warm-start-type",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_before_anything_starts(
    cli: Cli, prepared: dict[str, str], case: str
) -> None:
    args, message = BAD_INPUTS[case]
    result = cli("tune", "create", *_template(prepared), *args, "--name", "bad-tune")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert "Traceback" not in result.stderr
    assert _json(cli("jobs", "list", "--json")) == []
    assert _json(cli("tune", "list", "--json")) == []


def test_stop_ends_the_tuning_job_and_its_running_trial(cli: Cli, prepared: dict[str, str]) -> None:
    from sagebox.backends.metadata.base import JobStatus
    from sagebox.jobs import JobClient
    from sagebox.tuning import trial_rows

    fixtures = Path(__file__).with_name("fixtures")
    started = cli(
        "tune",
        "create",
        "-e",
        "quadratic.py",
        "--source-dir",
        str(fixtures),
        "-H",
        "epochs=3",
        "-H",
        "seconds=600",  # a trial that runs until it is stopped
        "-m",
        "validation:score=val_score: ([-0-9.e]+)",
        "--objective",
        "validation:score",
        "-R",
        "position=0:1",
        "--strategy",
        "Random",
        "--max-jobs",
        "2",
        "--train",
        prepared["train"],
        "--name",
        "stop-tune",
        "--no-wait",
        "--json",
    )
    described = _json(started)
    assert isinstance(described, dict)
    assert described["HyperParameterTuningJobStatus"] in ("Pending", "InProgress")
    session = Session()
    deadline = time.monotonic() + 180
    while not any(r["TrainingJobStatus"] == "InProgress" for r in trial_rows(session, "stop-tune")):
        assert time.monotonic() < deadline, "no trial started"
        time.sleep(0.2)

    stopped = _json(cli("tune", "stop", "stop-tune", "--json"))
    assert isinstance(stopped, dict) and stopped["status"] in ("Stopping", "Stopped")
    jobs = JobClient(session)
    assert jobs.wait("stop-tune", timeout=180).status is JobStatus.STOPPED
    trial = jobs.wait("stop-tune-001", timeout=180)
    assert trial.status is JobStatus.STOPPED
    assert [j.name for j in jobs.list(kind="training")] == ["stop-tune-001"]  # no next trial
    text = cli("tune", "describe", "stop-tune")
    assert "status: Stopped" in text.stdout
    assert "1 Stopped" in text.stdout
    # no trial completed: there is no best, a one-line error
    best = cli("tune", "best", "stop-tune")
    assert best.returncode == 1 and "has no best training job yet" in best.stderr
