"""Warm start: parents' trials seed a new tuning job; SageMaker's parent rules as errors.

One finished parent tuning job (linear-text, 2 trials) is shared by the module's tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from sagebox.errors import InputDataError, NotFoundError
from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    WarmStartConfig,
    describe_tuning_job,
    trial_rows,
)
from sagebox.tuning._study import WARM_START_ATTR, load_study

OBJECTIVE = "validation:macro_f1"


def _tuner(
    session: Session,
    static: dict[str, Any] | None = None,
    ranges: dict[str, Any] | None = None,
    warm: WarmStartConfig | None = None,
    **kwargs: Any,
) -> HyperparameterTuner:
    estimator = Estimator(
        algorithm="linear-text",
        hyperparameters={"min_df": 1, **(static or {})},
        session=session,
    )
    return HyperparameterTuner(
        estimator,
        kwargs.pop("objective_metric_name", OBJECTIVE),
        ranges
        or {
            "C": ContinuousParameter(0.01, 10, "Logarithmic"),
            "ngram_max": CategoricalParameter([1, 2]),
        },
        strategy=kwargs.pop("strategy", "Bayesian"),
        max_jobs=kwargs.pop("max_jobs", 2),
        max_parallel_jobs=kwargs.pop("max_parallel_jobs", 2),
        random_seed=1,
        warm_start_config=warm,
        **kwargs,
    )


@pytest.fixture(scope="module")
def parent(env: tuple[Session, dict[str, str]]) -> str:
    """A finished tuning job with 2 completed trials."""
    session, keys = env
    tuner = _tuner(session)
    tuner.fit(keys, job_name="parent")
    assert describe_tuning_job(session, "parent")["ObjectiveStatusCounters"]["Succeeded"] == 2
    return "parent"


def _tuning_jobs(session: Session) -> list[str]:
    return sorted(j.name for j in session.metadata.list_jobs(kind="tuning"))


def _seeded(session: Session, name: str) -> list[Any]:
    study = load_study(session, name)
    assert study is not None
    return [t for t in study.get_trials() if WARM_START_ATTR in t.user_attrs]


def test_identical_data_and_algorithm_seeds_the_study(
    env: tuple[Session, dict[str, str]], parent: str
) -> None:
    session, keys = env
    warm = WarmStartConfig("IdenticalDataAndAlgorithm", {parent})
    tuner = _tuner(session, warm=warm)
    tuner.fit(keys, job_name="child-ida", wait=False)
    # the child runs: it cannot be a parent yet (checked before anything starts)
    before = _tuning_jobs(session)
    running = _tuner(session, warm=WarmStartConfig("TransferLearning", ["child-ida"]))
    with pytest.raises(InputDataError, match="parent child-ida is (Pending|Running)") as info:
        running.fit(keys, job_name="never-started")
    assert "\n" not in str(info.value)
    assert _tuning_jobs(session) == before
    tuner.wait()

    seeded = _seeded(session, "child-ida")
    assert len(seeded) == 2  # both parent trials lie in the same ranges
    assert {t.user_attrs[WARM_START_ATTR] for t in seeded} == {parent}
    study = load_study(session, "child-ida")
    assert study is not None and len(study.trials) == 4  # 2 seeded + max_jobs=2 own trials
    rows = trial_rows(session, "child-ida")
    assert [r["TrainingJobName"] for r in rows] == ["child-ida-001", "child-ida-002"]
    description = tuner.describe()
    assert description["WarmStartConfig"] == {
        "WarmStartType": "IdenticalDataAndAlgorithm",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
    }
    assert description["TrainingJobStatusCounters"]["Completed"] == 2
    assert description["BestTrainingJob"]["TrainingJobName"].startswith("child-ida-")
    overall = description["OverallBestTrainingJob"]
    parent_best = describe_tuning_job(session, parent)["BestTrainingJob"]
    values = {
        "child-ida": description["BestTrainingJob"],
        parent: parent_best,
    }
    best_value = max(
        v["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for v in values.values()
    )
    assert overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best_value
    assert overall["TrainingJobName"] == values[overall["TuningJobName"]]["TrainingJobName"]


def test_transfer_learning_seeds_only_trials_inside_the_new_ranges(
    env: tuple[Session, dict[str, str]], parent: str
) -> None:
    session, keys = env
    parent_rows = trial_rows(session, parent)
    unigram = [r for r in parent_rows if r["ngram_max"] == "1"]
    warm = WarmStartConfig("TransferLearning", [parent])
    # another static value (min_df) is allowed by TransferLearning; ngram_max only "1" now
    tuner = _tuner(
        session,
        static={"min_df": 2},
        ranges={
            "C": ContinuousParameter(0.01, 10, "Logarithmic"),
            "ngram_max": CategoricalParameter([1, 3]),
        },
        warm=warm,
    )
    tuner.fit(keys, job_name="child-tl")
    seeded = _seeded(session, "child-tl")
    assert len(seeded) == len(unigram)
    assert all(t.params["ngram_max"] == "1" for t in seeded)
    assert len(trial_rows(session, "child-tl")) == 2
    description = tuner.describe()
    assert description["WarmStartConfig"]["WarmStartType"] == "TransferLearning"
    assert description["OverallBestTrainingJob"]["TuningJobName"] in (parent, "child-tl")


def _bad(session: Session, case: str, parent: str) -> HyperparameterTuner:
    ida = "IdenticalDataAndAlgorithm"
    if case == "unknown":
        return _tuner(session, warm=WarmStartConfig(ida, ["no-such-tuning"]))
    if case == "not-tuning":
        return _tuner(session, warm=WarmStartConfig(ida, [f"{parent}-001"]))
    if case == "six-parents":
        return _tuner(session, warm=WarmStartConfig(ida, [parent, *(f"p{i}" for i in range(5))]))
    if case == "objective":
        return _tuner(
            session,
            warm=WarmStartConfig(ida, [parent]),
            objective_metric_name="validation:accuracy",
        )
    if case == "objective-type":
        return _tuner(session, warm=WarmStartConfig(ida, [parent]), objective_type="Minimize")
    if case == "names":
        return _tuner(
            session,
            ranges={"C": ContinuousParameter(0.01, 10), "max_features": IntegerParameter(10, 100)},
            warm=WarmStartConfig(ida, [parent]),
        )
    if case == "types":
        return _tuner(
            session,
            ranges={"C": ContinuousParameter(0.01, 10), "ngram_max": IntegerParameter(1, 2)},
            warm=WarmStartConfig(ida, [parent]),
        )
    if case == "static":
        return _tuner(session, static={"min_df": 2}, warm=WarmStartConfig(ida, [parent]))
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("unknown", NotFoundError, "parent tuning job no-such-tuning does not exist"),
        ("not-tuning", InputDataError, "parent parent-001 is a training job, not a tuning job"),
        ("six-parents", InputDataError, "at most 5 parent tuning jobs, got 6"),
        ("objective", InputDataError, "parent parent optimizes validation:macro_f1"),
        ("objective-type", InputDataError, r"validation:macro_f1 \(Maximize\), this job"),
        ("names", InputDataError, "other hyperparameters .*max_features.*ngram_max"),
        ("types", InputDataError, "tunes ngram_max as Categorical, this job as Integer"),
        ("static", InputDataError, "static min_df=1, this job 2"),
    ],
)
def test_bad_warm_start_is_a_one_line_error_and_starts_nothing(
    env: tuple[Session, dict[str, str]],
    parent: str,
    case: str,
    error: type[Exception],
    message: str,
) -> None:
    session, keys = env
    before = _tuning_jobs(session)
    jobs_before = len(session.metadata.list_jobs())
    tuner = _bad(session, case, parent)
    with pytest.raises(error, match=message) as info:
        tuner.fit(keys, job_name=f"bad-{case}")
    assert "\n" not in str(info.value)
    assert _tuning_jobs(session) == before
    assert len(session.metadata.list_jobs()) == jobs_before
