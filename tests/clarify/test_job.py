"""The ``clarify`` job kind: runs in the job runner, outputs land in the lake as artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.clarify import BiasConfig
from sagebox.jobs import JobClient
from sagebox.session import Session


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


def _upload(session: Session, path: Path, key: str) -> str:
    """Upload and record the file's SHA-256, as ``sagebox clarify`` does with its inputs."""
    from sagebox.backends.metadata.base import ArtifactRecord
    from sagebox.models import sha256_file

    session.storage.upload(path, key)
    uri = session.storage.url(key)
    size = path.stat().st_size
    session.metadata.add_artifact(ArtifactRecord(uri, "input", sha256_file(path), size))
    return uri


def test_explain_job_records_its_outputs(
    session: Session, reviews, model_tar: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "reviews.parquet"
    reviews.head(50).to_parquet(data, index=False)
    inputs = {
        "data": _upload(session, data, "inputs/reviews.parquet"),
        "model": _upload(session, model_tar, "inputs/model.tar.gz"),
    }
    params = {"analysis": "explain", "rows": 2, "shap": {"num_samples": 20}, "model_name": "tiny"}
    jobs = JobClient(session)
    job = jobs.wait(jobs.submit("clarify", parameters=params, inputs=inputs).name, timeout=180)
    assert job.status is JobStatus.COMPLETED, jobs.logs(job.name)
    assert set(job.outputs) == {"analysis", "local", "report"}
    for name, uri in job.outputs.items():
        assert f"jobs/{job.name}/output/" in uri
        key = session.key_for(uri)
        assert session.storage.exists(key), name
    recorded = {a.uri for a in session.metadata.list_artifacts(producer_job=job.name)}
    assert recorded == set(job.outputs.values())
    analysis = json.loads(session.storage.read_bytes(session.key_for(job.outputs["analysis"])))
    assert set(analysis["explanations"]["kernel_shap"]) == {"-1", "0", "1"}
    assert "tiny" in session.storage.read_bytes(session.key_for(job.outputs["report"])).decode()


def test_bias_job_with_bad_column_fails_with_the_reason(
    session: Session, reviews, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "reviews.csv"
    reviews.to_csv(data, index=False)
    config = BiasConfig("sentiment", [1], "categroy")
    jobs = JobClient(session)
    job = jobs.submit(
        "clarify",
        parameters={"analysis": "bias", "config": config.to_dict()},
        inputs={"data": _upload(session, data, "inputs/reviews.csv")},
    )
    done = jobs.wait(job.name, timeout=120)
    assert done.status is JobStatus.FAILED
    assert "facet column 'categroy' not found" in (done.failure_reason or "")
    assert "product_category" in (done.failure_reason or "")
