"""Constrained and multi-objective tuning: measured metrics (model size, latency, Clarify bias).

The trials are linear-text models whose ``max_features`` (5 or 5000) sets their size; the
constraint limits are read from the trials' own measurements, so nothing depends on timing.
"""

from __future__ import annotations

from typing import Any

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import InputDataError, JobError
from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    trial_rows,
)
from sagebox.tuning.constraints import parse_constraint

SIZES = CategoricalParameter([5, 5000])


def _tuner(session: Session, **kwargs: Any) -> HyperparameterTuner:
    estimator = Estimator(algorithm="linear-text", hyperparameters={"min_df": 1}, session=session)
    return HyperparameterTuner(
        estimator,
        kwargs.pop("objective_metric_name", "validation:macro_f1"),
        kwargs.pop("ranges", {"max_features": SIZES}),
        strategy=kwargs.pop("strategy", "Grid"),
        max_parallel_jobs=2,
        random_seed=3,
        **kwargs,
    )


@pytest.fixture(scope="module")
def infeasible(env: tuple[Session, dict[str, str]]) -> dict[str, float]:
    """A study where no trial is feasible; the model sizes its trials measured, by max_features."""
    session, keys = env
    tuner = _tuner(
        session,
        objective_metric_name="model_size_bytes",
        constraints=["model_size_bytes<=1"],
    )
    with pytest.raises(JobError) as info:
        tuner.fit(keys, job_name="infeasible")
    assert "\n" not in str(info.value)
    job = session.metadata.get_job("infeasible")
    assert job.status is JobStatus.FAILED
    assert "no trial completed with a feasible objective (2 complete)" in (job.failure_reason or "")
    rows = trial_rows(session, "infeasible")
    assert [r["Feasible"] for r in rows] == [False, False]
    return {r["max_features"]: r["MeasuredMetrics"]["model_size_bytes"] for r in rows}


def test_no_feasible_trial_fails_with_a_clear_message(infeasible: dict[str, float]) -> None:
    assert infeasible["5000"] > infeasible["5"] > 0


def test_a_constraint_excludes_the_otherwise_best_trial(
    env: tuple[Session, dict[str, str]], infeasible: dict[str, float]
) -> None:
    """The largest model would be best (objective: maximize its size) but breaks the limit."""
    session, keys = env
    limit = (infeasible["5"] + infeasible["5000"]) / 2
    tuner = _tuner(
        session,
        objective_metric_name="model_size_bytes",
        constraints=[
            f"model_size_bytes<={limit:.0f}",
            "bias:DPPL<=1",  # always met once measured: DPPL lies in [-1, 1]
            "bias:DI[product_category=Dresses]>=0",
            "latency_p50_ms<=1e9",
            "latency_p90_ms<=1e9",
        ],
    )
    tuner.fit(keys, job_name="constrained")
    rows = {r["max_features"]: r for r in trial_rows(session, "constrained")}
    assert rows["5000"]["Feasible"] is False and rows["5"]["Feasible"] is True
    best = tuner.describe()["BestTrainingJob"]
    assert best["TrainingJobName"] == rows["5"]["TrainingJobName"]
    measured = rows["5"]["MeasuredMetrics"]
    for name in ("bias:DPPL", "bias:DI[product_category=Dresses]", "latency_p50_ms"):
        assert name in measured, measured
    assert -1 <= measured["bias:DPPL"] <= 1
    assert 0 < measured["latency_p50_ms"] <= measured["latency_p90_ms"]


def test_multi_objective_returns_a_non_dominated_pareto_front(
    env: tuple[Session, dict[str, str]],
) -> None:
    session, keys = env
    tuner = _tuner(
        session,
        objective_metric_name="validation:macro_f1",
        objectives=[("validation:macro_f1", "Maximize"), ("model_size_bytes", "Minimize")],
        ranges={"max_features": SIZES, "C": ContinuousParameter(0.01, 10, "Logarithmic")},
        strategy="Bayesian",
        max_jobs=3,
    )
    tuner.fit(keys, job_name="pareto")
    rows = [r for r in trial_rows(session, "pareto") if r["TrialState"] == "COMPLETE"]
    assert len(rows) == 3
    points = {r["TrainingJobName"]: (r["validation:macro_f1"], r["model_size_bytes"]) for r in rows}
    front = tuner.pareto_front()
    assert front, "the Pareto front is empty"
    names = {f["TrainingJobName"] for f in front}

    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] >= b[0] and a[1] <= b[1] and a != b

    for name in names:  # nothing dominates a front member
        assert not any(dominates(points[o], points[name]) for o in points), name
    for name in set(points) - names:  # every other trial is dominated by one
        assert any(dominates(points[o], points[name]) for o in points), name
    for item in front:
        values = item["FinalObjectiveValues"]
        assert values["model_size_bytes"] == points[item["TrainingJobName"]][1]


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("bias:XYZ<=0.1", "XYZ is not a Clarify bias metric"),
        ("bias:CI<=0.1", "CI is a pre-training metric"),
        ("bias:FT<=0.1", "FT needs numeric features or a group column"),
        ("bias:DPPL[product_category=Dresses<=0.1", "bad constraint"),
    ],
)
def test_unknown_bias_metric_is_a_one_line_error(
    env: tuple[Session, dict[str, str]], constraint: str, message: str
) -> None:
    session, _ = env
    with pytest.raises(InputDataError, match=message) as info:
        _tuner(session, constraints=[constraint])
    assert "\n" not in str(info.value)


def test_bias_constraint_syntax() -> None:
    c = parse_constraint("bias:DPPL[product_category=Dresses] <= 0.1")
    assert (c.metric, c.op, c.limit) == ("bias:DPPL[product_category=Dresses]", "<=", 0.1)
    assert parse_constraint("bias:DI>=0.8").metric == "bias:DI"
