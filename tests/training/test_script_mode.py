"""The course-style fine-tuning script runs unmodified, on one host and on two (gloo DDP)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.session import Session
from sagebox.training import Estimator
from tests.training.conftest import FIXTURES

pytestmark = pytest.mark.slow

METRICS = [
    {"Name": "validation:accuracy", "Regex": r"val_acc: ([0-9\.]+)"},
    {"Name": "validation:loss", "Regex": r"val_loss: ([0-9\.]+)"},
    {"Name": "train:loss", "Regex": r"train_loss: ([0-9\.]+)"},
]


@pytest.mark.parametrize("hosts", [1, 2])
def test_course_style_script_runs_unmodified(
    hosts: int, session: Session, prepared: dict[str, str], tiny_encoder: Path, tmp_path: Path
) -> None:
    hyperparameters = {
        "pretrained_model": str(tiny_encoder),
        "epochs": 2,
        "train_batch_size": 8,
        "train_steps_per_epoch": 4,
        "validation_batch_size": 16,
        "validation_steps_per_epoch": 2,
        "learning_rate": 0.001,
        "max_seq_length": 32,
        "run_validation": True,
        "freeze_bert_layer": False,
        "log_interval": 2,
    }
    if hosts > 1:
        hyperparameters["backend"] = "gloo"
    est = Estimator(
        entry_point="train.py",
        source_dir=FIXTURES / "roberta_style",
        hyperparameters=hyperparameters,
        metric_definitions=METRICS,
        instance_count=hosts,
        session=session,
    )
    job = est.fit({"train": "prepared/train", "validation": prepared["validation"]}, logs=False)
    assert job.status is JobStatus.COMPLETED
    log = est.logs()
    assert "Loaded arguments:" in log
    if hosts > 1:
        assert "[algo-2] Initialized the distributed environment: gloo backend on 2 nodes" in log
    accuracy = est.metrics("validation:accuracy")
    assert [p.step for p in accuracy] == [1, 2] and 0 <= accuracy[-1].value <= 1
    assert len(est.metrics("train:loss")) == 4  # steps 0 and 2 of 2 epochs, from algo-1 only
    with tarfile.open(session.storage.download(session.key_for(str(est.model_data)),
                                               tmp_path / "m.tar.gz")) as tar:  # fmt: skip
        names = tar.getnames()
    assert "config.json" in names and "model.safetensors" in names
