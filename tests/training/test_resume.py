"""Checkpointing and resume: a real training job is SIGKILLed mid-epoch and restarted.

The resumed run must end with the same metrics as an uninterrupted run with the same seed:
the checkpoint holds the model, optimizer, scheduler, epoch/step and RNG state, and the batch
order of each epoch depends only on (seed, epoch).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import InputDataError, JobError
from sagebox.jobs import JobClient
from sagebox.session import Session
from sagebox.training import Estimator
from tests.training.conftest import wait_for

pytestmark = pytest.mark.slow

FINAL = ("validation:loss", "validation:accuracy", "test:accuracy", "test:macro_f1")


def _hyperparameters(encoder: Path) -> dict[str, Any]:
    return {
        "model_name_or_path": str(encoder),
        "max_seq_length": 32,
        "epochs": 3,
        "train_batch_size": 1,  # 96 steps per epoch: the kill lands well inside epoch 1
        "learning_rate": 0.0005,
        "checkpoint_steps": 8,
        "keep_checkpoints": 2,
        "num_threads": 1,
        "seed": 7,
        "log_interval": 16,
    }


def _estimator(session: Session, encoder: Path, uri: str, **kw: Any) -> Estimator:
    return Estimator(
        algorithm="text-transformer",
        hyperparameters=_hyperparameters(encoder),
        checkpoint_uri=uri,
        session=session,
        **kw,
    )


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
        return [int(p) for p in fh.read().split()]


@pytest.mark.parametrize("victim", ["job", "worker"])
def test_killed_job_resumes_to_the_same_result(
    victim: str, session: Session, prepared: dict[str, str], tiny_encoder: Path
) -> None:
    inputs = {
        "train": prepared["train"],
        "validation": prepared["validation"],
        "test": prepared["test"],
    }
    reference = _estimator(session, tiny_encoder, "ckpt/reference").fit(inputs, logs=False)

    est = _estimator(session, tiny_encoder, f"ckpt/{victim}", max_retries=1)
    job = est.fit(inputs, wait=False)
    jobs = JobClient(session)
    storage = session.storage
    wait_for(lambda: storage.list(f"ckpt/{victim}/"), what="a checkpoint in the lake")
    runner = int(str(jobs.describe(job.name).handle).split(":")[1])
    assert "metric epoch=1" not in jobs.logs(job.name), "killed too late: not mid-epoch"
    if victim == "job":
        os.killpg(runner, signal.SIGKILL)  # the job process and its worker, as a crash would
    else:
        os.kill(_children(runner)[0], signal.SIGKILL)  # only the training worker
    done = est.wait(logs=False)

    assert done.status is JobStatus.COMPLETED and done.restarts == 1
    log = jobs.logs(job.name)
    assert re.search(r"resumed from checkpoint-\d+\.pt: epoch 1, step [1-9]", log), "mid-epoch"
    for name in FINAL:
        assert done.metrics[name] == pytest.approx(reference.metrics[name], abs=1e-4), name
    kept = [i.key.rsplit("/", 1)[1] for i in storage.list(f"ckpt/{victim}/")]
    final = est.metrics("epoch")[-1].step
    assert len(kept) == 2 and kept[-1] == f"checkpoint-{final:08d}.pt"  # retention: 2


def test_train_resume_continues_a_stopped_job_and_checks_compatibility(
    session: Session, prepared: dict[str, str], tiny_encoder: Path, tmp_path: Path
) -> None:
    import torch

    inputs = {"train": prepared["train"], "validation": prepared["validation"]}
    first = _estimator(session, tiny_encoder, "ckpt/resume").fit(inputs, logs=False)
    resumed = Estimator.attach(first.name, session=session)
    again = resumed.resume(logs=False)
    assert again.name != first.name and again.parameters["resumed_from"] == first.name
    final = Estimator.attach(first.name, session=session).metrics("epoch")[-1].step
    assert f"resumed from checkpoint-{final:08d}.pt" in resumed.logs()
    for name in ("validation:accuracy", "validation:macro_f1"):  # nothing left to train
        assert again.metrics[name] == pytest.approx(first.metrics[name]), name

    torch.save(
        {"fingerprint": {"algorithm": "text-transformer", "hidden_size": 999}}, tmp_path / "c.pt"
    )
    session.storage.upload(tmp_path / "c.pt", "ckpt/other/checkpoint-00000001.pt")
    with pytest.raises(JobError, match="incompatible model: .*hidden_size 999 != 32"):
        _estimator(session, tiny_encoder, "ckpt/other").fit(inputs, logs=False)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    session.storage.upload(tmp_path / "junk.pt", "ckpt/junk/checkpoint-00000001.pt")
    with pytest.raises(JobError, match="checkpoint-00000001.pt cannot be read"):
        _estimator(session, tiny_encoder, "ckpt/junk").fit(inputs, logs=False)
    no_ckpt = Estimator(algorithm="linear-text", session=session).fit(inputs, logs=False)
    with pytest.raises(InputDataError, match="no checkpoints to resume from"):
        Estimator.attach(no_ckpt.name, session=session).resume()
