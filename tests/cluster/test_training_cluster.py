"""Multi-node training on the cluster profile: a two-node Ray cluster, moto S3, PostgreSQL.

A 2-instance torch.distributed (gloo) script-mode job places its hosts on the two Ray nodes,
rendezvous on rank 0's node, and registers algo-1's model; a job whose second node is killed
mid-run restarts (``max_retries=1``) once the node is back and resumes from its checkpoint;
a debugger rule runs on what the two nodes upload, and its stop action stops them both.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.debugger import RuleConfig, StopTraining
from sagebox.errors import JobError
from sagebox.jobs import JobClient
from sagebox.profiler.data import ProfileData
from sagebox.session import Session
from sagebox.training import Estimator
from tests.fixtures.ray import RayCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DDP_DIR = Path(__file__).parents[1] / "training" / "fixtures" / "ddp"
DEBUGGER_SCRIPTS = Path(__file__).parents[1] / "debugger" / "scripts"


def _estimator(session: Session, **kwargs: object) -> Estimator:
    session.storage.write_bytes("data/ddp/train.txt", b"a few bytes of training data\n")
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
    ray_cluster: RayCluster,
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
    ray_cluster: RayCluster,
) -> None:
    est = _estimator(
        cluster_session,
        hyperparameters={"steps": 16, "step-seconds": 1.0},
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


def test_a_job_the_cluster_cannot_place_fails_naming_what_it_asked(
    cluster_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each test node has one CPU: two instances of 8 CPUs never fit
    monkeypatch.setenv("SAGEBOX_CAPACITY_TIMEOUT_SECONDS", "5")
    est = _estimator(Session(), hyperparameters={"steps": 1}, instance_type="local:8")
    with pytest.raises(JobError, match="ended Failed") as failed:
        est.fit("data/ddp/", logs=False)
    reason = failed.value.message
    assert "cannot reserve 2 slots of 8 CPU(s), each on a distinct node, within 5 s" in reason
    assert "the cluster has 2 live node(s)" in reason  # ... and what the cluster has
    assert "waiting for 2 node(s) with 8 CPU(s) free each (at most 5 s)" in est.logs()


def test_a_rule_stops_a_two_node_job_and_both_nodes_sample_their_machine(
    cluster_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SAGEBOX_LOG_UPLOAD_SECONDS", "1")  # reaches the runner and the nodes
    session = Session()
    session.storage.write_bytes("data/overfit/train.txt", b"unused: the script makes its data\n")
    est = Estimator(
        entry_point="overfit_checkpointed.py",
        source_dir=str(DEBUGGER_SCRIPTS),
        instance_count=2,
        debugger_hook_config={"save_interval": 50},
        profiler_config={"system_monitor_interval_millis": 100},  # each host samples at once
        rules=[
            RuleConfig("overfit", {"patience": 2, "ratio_threshold": 0.3}, [StopTraining()]),
            "LowGPUUtilization",
        ],
        session=session,
    )
    name = est.fit("data/overfit/", wait=False).name
    job = JobClient(session).wait(name, timeout=300)
    assert job.status is JobStatus.STOPPED, (job.failure_reason, est.logs()[-3000:])
    assert job.failure_reason.startswith("Stopped by rule Overfit: validation loss ")
    records = {r.rule_name: r for r in session.metadata.list_rule_evaluations(name)}
    assert records["Overfit"].status == "IssuesFound" and records["Overfit"].step is not None
    assert records["LowGPUUtilization"].status == "NoIssuesFound"
    log = est.logs()
    assert f"rule Overfit: IssuesFound at step {records['Overfit'].step}: " in log
    assert "the rules read it here" in log
    prefix = f"jobs/{name}/debug-output/"
    assert job.outputs["debug_output"] == session.storage.url(prefix)
    keys = {i.key[len(prefix) :] for i in session.storage.list(prefix)}
    # the rules read the first host's scalars; every host sampled its own machine (algo-2
    # may be stopped before its hook saved a step: the rule fires within a few steps)
    assert {"scalars/algo-1.jsonl", "system/algo-1.jsonl", "system/algo-2.jsonl"} <= keys, keys
    local = tmp_path / "debug-output"
    for key in keys:
        session.storage.download(prefix + key, local / key)
    data = ProfileData(local)
    data.refresh()
    assert {e["host"] for e in data.system()} == {"algo-1", "algo-2"}
