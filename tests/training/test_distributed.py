"""Data-parallel training: 2 worker processes (torch DDP over gloo) match 1 process."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.session import Session
from sagebox.training import Estimator

pytestmark = pytest.mark.slow


def test_two_processes_match_one(
    session: Session, prepared: dict[str, str], tiny_encoder: Path
) -> None:
    inputs = {
        "train": prepared["train"],
        "validation": prepared["validation"],
        "test": prepared["test"],
    }
    common = {
        "model_name_or_path": str(tiny_encoder),
        "max_seq_length": 32,
        "epochs": 2,
        "learning_rate": 0.002,
        "dropout": 0.0,  # no per-process randomness: the two runs compute the same updates
        "seed": 3,
        "num_threads": 1,
    }
    single = Estimator(
        algorithm="text-transformer",
        hyperparameters={**common, "train_batch_size": 8},
        session=session,
    ).fit(inputs, logs=False)
    est = Estimator(
        algorithm="text-transformer",
        hyperparameters={**common, "train_batch_size": 4},  # per process: 2 x 4 = 8
        instance_count=2,
        session=session,
    )
    double = est.fit(inputs, logs=False)
    assert double.status is JobStatus.COMPLETED
    log = est.logs()
    assert "[algo-2]" in log and "2 process(es)" in log
    for name in ("validation:loss", "validation:accuracy", "test:accuracy", "test:macro_f1"):
        assert double.metrics[name] == pytest.approx(single.metrics[name], abs=2e-3), name
