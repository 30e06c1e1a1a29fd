"""The walkthrough with a tuning job: its best trial is the model evaluated and served."""

from __future__ import annotations

import pytest

from sagebox.demo import demo_steps, run_demo
from sagebox.errors import InputDataError
from sagebox.session import Session


def test_the_demo_tunes_and_serves_the_best_trial(session: Session) -> None:
    steps: list[str] = []
    result = run_demo(session, rows=400, tune_trials=2, on_step=steps.append)
    assert steps == demo_steps(tune_trials=2)
    assert steps[4].startswith("tune the baseline (tuning job: 2 training jobs")
    tuning = session.metadata.get_job(result.jobs["tuning"])
    assert tuning.kind == "tuning" and tuning.status.value == "Completed"
    assert result.jobs["training"] == tuning.outputs["best_training_job"]
    assert session.metadata.get_model(result.model_name).source_job == result.jobs["training"]
    assert len(result.predictions) == 4


def test_the_demo_refuses_to_tune_an_algorithm_it_has_no_ranges_for(session: Session) -> None:
    with pytest.raises(InputDataError, match="no tuning ranges for xgboost"):
        run_demo(session, rows=400, tune_trials=2, algorithm="xgboost")
    assert session.metadata.list_jobs() == []
