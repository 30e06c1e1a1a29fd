"""Each bad tuning input is a one-line error before anything starts (no job recorded)."""

from __future__ import annotations

from typing import Any

import pytest

from sagebox.errors import InputDataError
from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)


def _tuner(session: Session, **overrides: Any) -> HyperparameterTuner:
    hps = overrides.pop("hyperparameters", {"min_df": 1})
    args: dict[str, Any] = {
        "estimator": Estimator(
            algorithm=overrides.pop("algorithm", "linear-text"),
            hyperparameters=hps,
            session=session,
        ),
        "objective_metric_name": "validation:macro_f1",
        "hyperparameter_ranges": {"C": ContinuousParameter(0.1, 10, "Logarithmic")},
        "max_jobs": 4,
        "max_parallel_jobs": 2,
    }
    args.update(overrides)
    return HyperparameterTuner(**args)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"hyperparameter_ranges": {"not_a_knob": ContinuousParameter(0.1, 1)}},
            "unknown hyperparameter",
        ),
        ({"hyperparameter_ranges": {"C": ContinuousParameter(10, 0.1)}}, "must be below max_value"),
        (
            {"hyperparameter_ranges": {"C": ContinuousParameter(0, 1, "Logarithmic")}},
            "needs min_value > 0",
        ),
        ({"hyperparameter_ranges": {"C": ContinuousParameter(0, 1)}}, "C"),  # C=0 breaks C > 0
        ({"strategy": "Grid", "max_jobs": None}, "categorical ranges only"),
        (
            {
                "strategy": "Grid",
                "hyperparameter_ranges": {"ngram_max": CategoricalParameter([1, 2])},
            },
            "every combination",
        ),
        ({"max_parallel_jobs": 5}, "exceeds max_jobs"),
        ({"max_jobs": 0}, "positive integer"),
        ({"strategy": "Annealing"}, "unknown strategy"),
        ({"objective_type": "Biggest"}, "unknown objective_type"),
        ({"early_stopping_type": "Sometimes"}, "unknown early_stopping_type"),
        ({"objective_metric_name": ""}, "no objective_metric_name"),
        ({"hyperparameter_ranges": {}}, "no hyperparameter ranges"),
        ({"strategy": "Hyperband"}, "needs a static hyperparameter epochs"),
        (
            {
                "algorithm": "blazingtext",
                "hyperparameters": {"epochs": 9},
                "hyperparameter_ranges": {"learning_rate": ContinuousParameter(0.05, 1)},
                "strategy": "Hyperband",
                "early_stopping_type": "Auto",
            },
            "early_stopping_type must be Off",
        ),
        (
            {"hyperparameter_ranges": {"max_iter": IntegerParameter(1, 5, "ReverseLogarithmic")}},
            "continuous ranges only",
        ),
        ({"constraints": ["latency<20ms"]}, "bad constraint"),
        ({"max_runtime_in_seconds": -5}, "must be positive"),
        ({"NotAnArgument": 1}, "unexpected argument"),
    ],
)
def test_bad_tuning_input_is_refused_before_anything_starts(
    session: Session, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputDataError, match=message) as raised:
        _tuner(session, **overrides).fit({"train": "nowhere"}, wait=False)
    assert "\n" not in str(raised.value)
    assert session.metadata.list_jobs() == []


def test_a_missing_channel_is_refused_before_anything_starts(session: Session) -> None:
    with pytest.raises(InputDataError, match="has no data"):
        _tuner(session).fit({"train": "prepared/none.parquet"}, wait=False)
    assert session.metadata.list_jobs() == []


def test_a_too_long_tuning_job_name_is_refused(session: Session, prepared: dict[str, str]) -> None:
    with pytest.raises(InputDataError, match="longer than 58"):
        _tuner(session).fit(prepared, job_name="t" * 60, wait=False)
    assert session.metadata.list_jobs() == []
