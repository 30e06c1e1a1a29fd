"""Tuning jobs end to end: real tuning and training job processes on the local backend."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import JobError
from sagebox.jobs import JobClient
from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    trial_rows,
)
from tests.conftest import free_port

FIXTURES = Path(__file__).with_name("fixtures")
SCORE = [{"Name": "validation:score", "Regex": r"val_score: ([-0-9.e]+)"}]


def _quadratic_tuner(session: Session, seconds: float = 0.0, **kwargs: Any) -> HyperparameterTuner:
    """Trials of fixtures/quadratic.py: score 1 - (position - 0.3)^2, reached at the last epoch."""
    estimator = Estimator(
        entry_point="quadratic.py",
        source_dir=FIXTURES,
        hyperparameters={"epochs": 3, "seconds": seconds},
        metric_definitions=SCORE,
        session=session,
    )
    args: dict[str, Any] = {
        "objective_metric_name": "validation:score",
        "hyperparameter_ranges": {"position": ContinuousParameter(0.0, 1.0)},
        "strategy": "Random",
        "random_seed": 3,
        "max_jobs": 3,
        "max_parallel_jobs": 1,
    }
    args.update(kwargs)
    return HyperparameterTuner(estimator, **args)


def _poll(condition: Any, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def test_the_course_tuning_lab_runs_and_deploys_the_best(
    session: Session, prepared: dict[str, str], tiny_encoder: Path
) -> None:
    """The course's lab: Random, 2 jobs, 2 at a time, early stopping Auto, then deploy."""
    from sagebox.serving import EndpointClient

    estimator = Estimator(
        algorithm="text-transformer",
        hyperparameters={
            "model_name_or_path": str(tiny_encoder),
            "max_seq_length": 32,
            "epochs": 2,
            "train_steps_per_epoch": 4,
        },
        session=session,
    )
    tuner = HyperparameterTuner(
        estimator=estimator,
        strategy="Random",
        objective_metric_name="validation:accuracy",
        objective_type="Maximize",
        hyperparameter_ranges={
            "learning_rate": ContinuousParameter(1e-5, 5e-5, "Linear"),
            "train_batch_size": CategoricalParameter([128, 256]),
        },
        max_jobs=2,
        max_parallel_jobs=2,
        early_stopping_type="Auto",
    )
    job = tuner.fit(prepared)
    assert job.status is JobStatus.COMPLETED and job.slot is None
    frame = tuner.analytics().dataframe()
    assert len(frame) == 2
    assert {
        "learning_rate",
        "train_batch_size",
        "TrainingJobName",
        "TrainingJobStatus",
        "FinalObjectiveValue",
        "TrainingElapsedTimeSeconds",
    } <= set(frame.columns)
    assert frame["learning_rate"].between(1e-5, 5e-5).all()
    description = tuner.describe()
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["TrainingJobStatusCounters"]["Completed"] == 2
    best = tuner.best_training_job()
    assert (
        description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        == frame["FinalObjectiveValue"].max()
    )
    trial = session.metadata.get_job(best)
    assert trial.kind == "training" and trial.parameters["tuning_job_name"] == job.name
    endpoint = tuner.deploy(endpoint_name="tuned-reviews", port=free_port())
    client = EndpointClient(session)
    try:
        answer = client.invoke(endpoint.name, {"instances": ["I love this dress"]})
        assert answer
        assert session.metadata.get_model(best).source_job == best
    finally:
        client.delete(endpoint.name)
        if endpoint.handle:
            session.compute.stop(endpoint.handle, grace_seconds=5)


def test_parallel_trials_each_a_training_job_linked_to_the_tuning_job(
    session: Session,
) -> None:
    tuner = _quadratic_tuner(session, max_jobs=4, max_parallel_jobs=2, strategy="Bayesian")
    job = tuner.fit({"train": _upload_dummy(session)})
    rows = trial_rows(session, job.name)
    assert [r["TrainingJobName"] for r in rows] == [f"{job.name}-{i:03d}" for i in range(1, 5)]
    assert all(r["TrainingJobStatus"] == "Completed" for r in rows)
    for row in rows:  # the objective is the trial's own metric, from its log
        assert row["FinalObjectiveValue"] == pytest.approx(
            1 - (row["position"] - 0.3) ** 2, abs=1e-5
        )
    trials = JobClient(session).list(kind="training")
    assert {t.name for t in trials} == {r["TrainingJobName"] for r in rows}
    best = max(rows, key=lambda r: r["FinalObjectiveValue"])
    assert tuner.best_training_job() == best["TrainingJobName"]
    assert (
        session.metadata.get_job(job.name).outputs["best_training_job"] == best["TrainingJobName"]
    )
    points = JobClient(session).metrics(job.name, "best:validation:score")
    assert [p.step for p in points] == [1, 2, 3, 4]  # best-so-far after each trial
    assert points[-1].value == pytest.approx(best["FinalObjectiveValue"], abs=1e-5)


def test_a_long_base_name_still_gives_valid_trial_names(session: Session) -> None:
    tuner = _quadratic_tuner(session, max_jobs=1, base_tuning_job_name="reviews-" * 8)
    job = tuner.fit({"train": _upload_dummy(session)})
    (row,) = trial_rows(session, job.name)
    assert len(job.name) <= 58 and row["TrainingJobName"] == f"{job.name}-001"
    assert row["TrainingJobStatus"] == "Completed"


def test_grid_runs_every_combination(session: Session) -> None:
    tuner = _quadratic_tuner(
        session,
        strategy="Grid",
        max_jobs=None,
        hyperparameter_ranges={"position": CategoricalParameter([0.1, 0.3, 0.9])},
        max_parallel_jobs=2,
    )
    job = tuner.fit({"train": _upload_dummy(session)})
    rows = trial_rows(session, job.name)
    assert sorted(r["position"] for r in rows) == ["0.1", "0.3", "0.9"]
    assert tuner.describe()["BestTrainingJob"]["TunedHyperParameters"] == {"position": "0.3"}


def test_early_stopping_stops_a_trial_worse_than_the_median(session: Session) -> None:
    """Grid order is fixed by the seed: position=0.3 (best) runs before 0.95 (bad), sequentially."""
    tuner = _quadratic_tuner(
        session,
        seconds=3.0,
        strategy="Grid",
        max_jobs=None,
        random_seed=1,
        hyperparameter_ranges={"position": CategoricalParameter([0.3, 0.95])},
        early_stopping_type="Auto",
    )
    job = tuner.fit({"train": _upload_dummy(session)})
    rows = trial_rows(session, job.name)
    order = [r["position"] for r in rows]
    assert order == ["0.3", "0.95"], f"the seed gave another grid order: {order}"
    good, bad = rows
    assert good["TrainingJobStatus"] == "Completed"
    assert bad["TrainingJobStatus"] == "Stopped" and bad["TrialState"] == "PRUNED"
    record = session.metadata.get_job(bad["TrainingJobName"])
    assert "Stopped by the tuner (median rule)" in (record.failure_reason or "")
    assert tuner.best_training_job() == good["TrainingJobName"]
    assert tuner.describe()["TrainingJobStatusCounters"]["Stopped"] == 1


def test_hyperband_reports_epochs_to_its_rungs(session: Session) -> None:
    tuner = _quadratic_tuner(
        session, strategy="Hyperband", max_jobs=4, max_parallel_jobs=2, seconds=1.0
    )
    job = tuner.fit({"train": _upload_dummy(session)})
    from sagebox.tuning._study import load_study

    study = load_study(session, job.name)
    assert study is not None
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    assert all(t.intermediate_values for t in study.trials)
    config = tuner.describe()["HyperParameterTuningJobConfig"]
    assert config["StrategyConfig"] == {
        "HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 3}
    }


def test_an_objective_no_trial_emits_fails_naming_what_was_seen(session: Session) -> None:
    tuner = _quadratic_tuner(session, objective_metric_name="validation:f2", max_jobs=3)
    with pytest.raises(JobError):
        tuner.fit({"train": _upload_dummy(session)})
    job = session.metadata.get_job(tuner.latest_tuning_job or "")
    assert job.status is JobStatus.FAILED
    assert "'validation:f2'" in (job.failure_reason or "")
    assert "validation:score" in (job.failure_reason or "")
    assert len(trial_rows(session, job.name)) == 1  # it failed after the first trial


def test_max_runtime_stops_the_trials_and_says_so(session: Session) -> None:
    tuner = _quadratic_tuner(session, seconds=120.0, max_jobs=2, max_runtime_in_seconds=3)
    with pytest.raises(JobError):
        tuner.fit({"train": _upload_dummy(session)})
    job = session.metadata.get_job(tuner.latest_tuning_job or "")
    assert job.status is JobStatus.FAILED
    assert (job.failure_reason or "").startswith("MaxRuntimeInSeconds (3 s) reached")
    (row,) = trial_rows(session, job.name)  # the second trial never started
    assert row["TrainingJobStatus"] == "Stopped"
    assert row["StopReason"] == "MaxRuntimeInSeconds of the tuning job reached"


def test_stopping_the_tuning_job_stops_its_trials(session: Session) -> None:
    tuner = _quadratic_tuner(session, seconds=120.0, max_jobs=2, max_parallel_jobs=2)
    job = tuner.fit({"train": _upload_dummy(session)}, wait=False)
    client = JobClient(session)
    _poll(lambda: len(trial_rows(session, job.name)) == 2)
    trials = [r["TrainingJobName"] for r in trial_rows(session, job.name)]
    _poll(lambda: all(client.describe(t).status is JobStatus.IN_PROGRESS for t in trials))
    assert tuner.stop().status is JobStatus.STOPPED
    for name in trials:
        assert _poll(lambda n=name: client.describe(n).status.is_terminal)
        assert client.describe(name).status is JobStatus.STOPPED


def test_a_killed_tuning_job_resumes_from_its_recorded_trials(session: Session) -> None:
    tuner = _quadratic_tuner(session, seconds=2.0, max_jobs=4)
    job = tuner.fit({"train": _upload_dummy(session)}, wait=False)
    _poll(lambda: len(trial_rows(session, job.name)) >= 2)
    handle = session.metadata.get_job(job.name).handle or ""
    os.kill(int(handle.split(":")[1]), signal.SIGKILL)
    final = tuner.wait()  # the client notices the lost runner and restarts it
    assert final.status is JobStatus.COMPLETED and final.restarts >= 1
    rows = trial_rows(session, job.name)
    names = [r["TrainingJobName"] for r in rows]
    assert names == [f"{job.name}-{i:03d}" for i in range(1, 5)]  # none twice, none lost
    assert all(r["TrainingJobStatus"] == "Completed" for r in rows)
    assert "resumed" in JobClient(session).logs(job.name)


def _upload_dummy(session: Session) -> str:
    """A one-file train channel (the quadratic trial reads no data)."""
    key = "data/dummy/train.txt"
    if not session.storage.exists(key):
        local = Path(os.environ["SAGEBOX_HOME"]).parent / "train.txt"
        local.write_text("x\n")
        session.storage.upload(local, key)
    return key
