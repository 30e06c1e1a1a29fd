"""A tuning job on a real PostgreSQL metadata store: parallel trials, the study in its schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.session import Session
from sagebox.training import Estimator
from sagebox.tuning import ContinuousParameter, HyperparameterTuner, trial_rows
from tests.fixtures.postgres import PostgresServer, postgres_server  # noqa: F401

FIXTURES = Path(__file__).with_name("fixtures")


def test_parallel_trials_on_postgresql(
    sagebox_env: Path,
    postgres_server: PostgresServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    postgres_server.create_database("tuning_pg")
    monkeypatch.setenv("SAGEBOX_METADATA_URI", postgres_server.url("tuning_pg"))
    session = Session()
    local = tmp_path / "train.txt"
    local.write_text("x\n")
    session.storage.upload(local, "data/train.txt")
    estimator = Estimator(
        entry_point="quadratic.py",
        source_dir=FIXTURES,
        hyperparameters={"epochs": 2, "seconds": 1.0},
        metric_definitions=[{"Name": "validation:score", "Regex": r"val_score: ([-0-9.e]+)"}],
        session=session,
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:score",
        hyperparameter_ranges={"position": ContinuousParameter(0.0, 1.0)},
        strategy="Bayesian",
        random_seed=5,
        max_jobs=4,
        max_parallel_jobs=2,
        early_stopping_type="Auto",
    )
    job = tuner.fit({"train": "data/train.txt"})
    rows = trial_rows(session, job.name)
    assert len(rows) == 4
    assert all(r["TrainingJobStatus"] in ("Completed", "Stopped") for r in rows)
    # the study lives in its own schema of the metadata database, not beside sagebox's tables
    from sqlalchemy import create_engine, inspect

    engine = create_engine(
        postgres_server.url("tuning_pg").replace("postgresql", "postgresql+psycopg", 1)
    )
    try:
        inspector = inspect(engine)
        assert "studies" in inspector.get_table_names(schema="sagebox_studies")
        assert "studies" not in inspector.get_table_names()
    finally:
        engine.dispose()
    assert tuner.describe()["BestTrainingJob"]["TrainingJobStatus"] == "Completed"
