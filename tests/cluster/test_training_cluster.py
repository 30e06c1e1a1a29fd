"""Multi-node training on the cluster profile: a two-node Ray cluster, moto S3, PostgreSQL.

A 2-instance torch.distributed (gloo) script-mode job places its hosts on the two Ray nodes,
rendezvous on rank 0's node, and registers algo-1's model; a job whose second node is killed
mid-run restarts (``max_retries=1``) once the node is back and resumes from its checkpoint.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.session import Session
from sagebox.training import Estimator
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.ray import RayCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DDP_DIR = Path(__file__).parents[1] / "training" / "fixtures" / "ddp"


@pytest.fixture()
def cluster_session(
    sagebox_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: str,  # noqa: F811
    postgres_server: PostgresServer,  # noqa: F811
    ray_cluster: RayCluster,  # noqa: F811
) -> Iterator[Session]:
    """The cluster profile: S3 lake (fresh bucket), fresh PostgreSQL database, Ray compute.

    The S3 server starts before the Ray nodes: they inherit its (dummy) AWS credentials from
    the environment, as a real cluster's nodes have their own.
    """
    suffix = secrets.token_hex(4)
    database = f"sb_train_{suffix}"
    monkeypatch.setenv("SAGEBOX_STORAGE_URI", f"s3://sb-train-{suffix}/lake")
    monkeypatch.setenv("SAGEBOX_S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("SAGEBOX_METADATA_URI", postgres_server.create_database(database))
    monkeypatch.setenv("SAGEBOX_COMPUTE", ray_cluster.uri)
    session = Session()
    session.storage.ensure_bucket()  # type: ignore[attr-defined]
    session.storage.write_bytes("data/ddp/train.txt", b"a few bytes of training data\n")
    yield session


def _estimator(session: Session, **kwargs: object) -> Estimator:
    return Estimator(
        entry_point="ddp_steps.py",
        source_dir=str(DDP_DIR),
        instance_count=2,
        session=session,
        **kwargs,  # type: ignore[arg-type]
    )


def _model(session: Session, model_uri: str) -> dict[str, object]:
    archive = session.storage.read_bytes(session.key_for(model_uri))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        return dict(json.load(member))


def _node_of(member: dict[str, object], cluster: RayCluster) -> int:
    """Which node (1 or 2) of the cluster started the process ``member`` describes."""
    ancestry = " ".join(str(line) for line in member["ancestry"])  # type: ignore[attr-defined]
    nodes = [n for n in (1, 2) if f"{cluster.node_dir(n)}/" in ancestry]
    assert len(nodes) == 1, f"no single Ray node in the ancestry of {member['host']}: {ancestry}"
    return nodes[0]


def test_two_node_ddp_job_runs_on_distinct_nodes_and_registers_the_model(
    cluster_session: Session,
    ray_cluster: RayCluster,  # noqa: F811
) -> None:
    est = _estimator(cluster_session, hyperparameters={"steps": 3})
    job = est.fit("data/ddp/", logs=False)
    assert job.status is JobStatus.COMPLETED, job.failure_reason
    model = _model(cluster_session, job.outputs["model"])
    assert model["world_size"] == 2 and model["sum"] == 3.0
    members = model["members"]
    assert isinstance(members, list)
    assert [m["host"] for m in members] == ["algo-1", "algo-2"]
    assert {_node_of(m, ray_cluster) for m in members} == {1, 2}
    log = est.logs()
    assert "[algo-2] rank 1 of 2" in log
    reserved = next(line for line in log.splitlines() if line.startswith("nodes reserved: "))
    rank0_address = reserved.removeprefix("nodes reserved: ").split(", ")[0]
    assert model["master_addr"] == rank0_address  # every rank met on rank 0's node
    artifacts = cluster_session.metadata.list_artifacts(uri=job.outputs["model"])
    assert [a.producer_job for a in artifacts] == [job.name] and artifacts[0].kind == "model"


def test_a_lost_node_restarts_the_job_from_its_checkpoint(
    cluster_session: Session,
    ray_cluster: RayCluster,  # noqa: F811
) -> None:
    est = _estimator(
        cluster_session,
        hyperparameters={"steps": 8, "step-seconds": 1.0},
        checkpoint_s3_uri="checkpoints/lost-node",
        max_retries=1,
    )
    job = est.fit("data/ddp/", wait=False)
    storage = cluster_session.storage
    deadline = time.monotonic() + 300
    while not storage.exists("checkpoints/lost-node/step-2"):
        assert time.monotonic() < deadline, "no checkpoint of step 2 within 300 s"
        time.sleep(0.2)  # polling interval
    try:
        ray_cluster.kill_node2()
    finally:
        ray_cluster.restart_node2()  # the retry needs two nodes again
    job = est.wait(logs=False)
    assert job.status is JobStatus.COMPLETED, job.failure_reason
    assert job.restarts == 1
    log = est.logs()
    assert "restarting from the last checkpoint (restart 1 of 1)" in log
    model = _model(cluster_session, job.outputs["model"])
    assert int(model["start"]) >= 2 and model["sum"] == 3.0  # type: ignore[call-overload]
