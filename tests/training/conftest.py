"""Fixtures of the training tests: a tiny encoder, prepared review splits in the lake."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.jobs import JobClient
from sagebox.session import Session
from sagebox.training import Estimator
from tests.fixtures.encoders import tiny_encoder  # noqa: F401

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


@pytest.fixture()
def jobs(session: Session) -> JobClient:
    return JobClient(session)


@pytest.fixture()
def prepared(session: Session, tmp_path: Path) -> dict[str, str]:
    """Small prepared train/validation/test splits uploaded to the lake; channel → key."""
    from sagebox.datasets import generate_reviews, split_dataset, to_sentiment

    table = to_sentiment(generate_reviews(160, seed=4))
    parts = split_dataset(table, 0.6, 0.2, 0.2, seed=0)
    keys = {}
    for name, part in zip(("train", "validation", "test"), parts, strict=True):
        local = tmp_path / f"{name}.parquet"
        part.to_parquet(local)
        keys[name] = f"prepared/{name}/part-0.parquet"
        session.storage.upload(local, keys[name])
    return keys


def wait_for(predicate: Callable[[], object], timeout: float = 120.0, what: str = "") -> None:
    """Poll ``predicate`` until true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.02)


def fit_failed(est: Estimator, inputs: str) -> str:
    """Fit ``est`` expecting the job to fail: return its failure reason (no model recorded)."""
    from sagebox.backends.metadata.base import JobStatus
    from sagebox.errors import JobError

    with pytest.raises(JobError, match="ended Failed"):
        est.fit(inputs, logs=False)
    job = est.latest_training_job
    assert job is not None and job.status is JobStatus.FAILED
    assert "model" not in job.outputs
    return job.failure_reason or ""


@pytest.fixture()
def cli(sagebox_env: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``sagebox`` command in a subprocess with the test's SAGEBOX_HOME."""

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagebox", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
