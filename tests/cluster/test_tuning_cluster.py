"""A tuning job on the cluster profile: the tuner and its trials are Ray jobs.

The tuning job's runner runs on a Ray node (no worker slot, its study in the PostgreSQL
metadata database's ``sagebox_studies`` schema) and submits each trial as a Ray job; the
script's source and the trials' models move through the S3 lake.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import ContinuousParameter, HyperparameterTuner, trial_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).parents[1] / "tuning" / "fixtures"


def test_a_tuning_job_runs_its_trials_on_the_cluster(cluster_session: Session) -> None:
    session = cluster_session
    session.storage.write_bytes("data/tune/train.txt", b"x\n")
    estimator = Estimator(
        entry_point="quadratic.py",
        source_dir=FIXTURES,
        hyperparameters={"epochs": 2},
        metric_definitions=[{"Name": "validation:score", "Regex": r"val_score: ([-0-9.e]+)"}],
        session=session,
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:score",
        hyperparameter_ranges={"position": ContinuousParameter(0.0, 1.0)},
        strategy="Random",
        random_seed=2,
        max_jobs=2,
        max_parallel_jobs=2,
    )
    job = tuner.fit({"train": "data/tune/train.txt"})
    assert (job.handle or "").startswith("ray:job:")
    rows = trial_rows(session, job.name)
    assert [r["TrainingJobStatus"] for r in rows] == ["Completed", "Completed"]
    for row in rows:
        trial = session.metadata.get_job(row["TrainingJobName"])
        assert (trial.handle or "").startswith("ray:")
        assert trial.outputs["model"].startswith("s3://")
    best = tuner.best_training_job()
    assert max(rows, key=lambda r: r["FinalObjectiveValue"])["TrainingJobName"] == best
