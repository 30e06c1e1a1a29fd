"""The cluster path of training (each host a node task, files through the lake) on one machine.

The local compute backend runs node tasks too (every slot on this machine), so the path a
cluster takes is driven here by ``run_training_job(ctx, on_cluster=True)``: the hosts fetch
their own inputs from the lake, rendezvous through it, sync checkpoints through it and stage
algo-1's model in it, from where the job packages it.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobRecord
from sagebox.errors import ConfigError, JobError
from sagebox.jobs.context import JobContext
from sagebox.jobs.instances import resources_for
from sagebox.session import Session
from sagebox.training.job import run_training_job
from sagebox.training.spec import TrainingSpec

DDP_DIR = Path(__file__).with_name("fixtures") / "ddp"


def _source(session: Session, name: str) -> str:
    """Pack the DDP script directory as sourcedir.tar.gz into the lake; return its key."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(DDP_DIR / "ddp_steps.py", arcname="ddp_steps.py")
    key = f"jobs/{name}/source/sourcedir.tar.gz"
    session.storage.write_bytes(key, buffer.getvalue())
    return key


def _context(
    session: Session, tmp_path: Path, name: str, hyperparameters: dict[str, object], **extra: object
) -> JobContext:
    session.storage.write_bytes("data/ddp/train.txt", b"a few bytes of training data\n")
    spec = TrainingSpec(
        entry_point="ddp_steps.py",
        source_uri=_source(session, name),
        hyperparameters=hyperparameters,
        instance_count=2,
        **extra,  # type: ignore[arg-type]
    )
    params = {**spec.to_parameters(), "max_retries": 1}
    job = session.metadata.create_job(
        JobRecord(name=name, kind="training", parameters=params, inputs={"train": "data/ddp/"})
    )
    work = tmp_path / name
    work.mkdir()
    return JobContext(job=job, session=session, workdir=work)


def _model(session: Session, ctx: JobContext) -> dict[str, object]:
    job = session.metadata.get_job(ctx.job.name)
    archive = session.storage.read_bytes(session.key_for(job.outputs["model"]))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        return dict(json.load(member))


@pytest.mark.slow
def test_two_hosts_train_as_node_tasks(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = _context(session, tmp_path, "ddp-nodes", {"steps": 3})
    run_training_job(ctx, on_cluster=True)
    model = _model(session, ctx)
    assert model["world_size"] == 2 and model["sum"] == 3.0  # 1 + 2 over the gloo group
    assert model["hosts"] == ["algo-1", "algo-2"] and model["master_addr"] == "127.0.0.1"
    members = model["members"]
    assert isinstance(members, list) and [m["host"] for m in members] == ["algo-1", "algo-2"]
    assert members[0]["cwd"] != members[1]["cwd"]  # each host in its own node root
    log = capsys.readouterr().out
    assert "[algo-2] rank 1 of 2" in log and "backend gloo" in log
    # algo-1's staged files became the job's outputs; nothing of algo-2 was staged
    job = session.metadata.get_job(ctx.job.name)
    assert "output" in job.outputs
    staged = [i.key for i in session.storage.list(f"jobs/{ctx.job.name}/hosts/")]
    assert staged and all("/hosts/algo-1/" in key for key in staged)


@pytest.mark.slow
def test_a_killed_host_restarts_and_resumes_from_the_checkpoint(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = _context(
        session,
        tmp_path,
        "ddp-resume",
        {"steps": 5, "die-at-step": 3, "die-rank": 1},
        checkpoint_uri="checkpoints/ddp-resume",
    )
    run_training_job(ctx, on_cluster=True)
    log = capsys.readouterr().out
    assert "rank 1 dies at step 3" in log
    assert "was killed by SIGKILL; restarting from the last checkpoint (restart 1 of 1)" in log
    model = _model(session, ctx)
    assert model["start"] == 2 and model["sum"] == 3.0  # resumed after the 2 steps it kept
    assert session.metadata.get_job(ctx.job.name).restarts == 1
    keys = {i.key for i in session.storage.list("checkpoints/ddp-resume/")}
    assert "checkpoints/ddp-resume/step-5" in keys


@pytest.mark.slow
def test_a_failed_host_fails_the_job_without_a_model(session: Session, tmp_path: Path) -> None:
    ctx = _context(session, tmp_path, "ddp-fails", {"steps": 3, "no-such-flag": 1})
    with pytest.raises(JobError, match="unrecognized arguments"):
        run_training_job(ctx, on_cluster=True)
    job = session.metadata.get_job(ctx.job.name)
    assert "model" not in job.outputs
    assert not session.storage.list(f"jobs/{ctx.job.name}/hosts/algo-1/model/")


def test_debugger_rules_are_refused_on_a_cluster(session: Session, tmp_path: Path) -> None:
    ctx = _context(
        session, tmp_path, "ddp-rules", {"steps": 1}, rules=[{"name": "LossNotDecreasing"}]
    )
    with pytest.raises(ConfigError, match="rules \\(LossNotDecreasing\\) cannot run"):
        run_training_job(ctx, on_cluster=True)


def test_instance_types_map_to_node_resources() -> None:
    assert resources_for("local").cpus == 1.0
    assert resources_for("local:3").cpus == 3.0
    big = resources_for("ml.p3.8xlarge")
    assert (big.cpus, big.gpus, big.memory_bytes) == (32.0, 4.0, 244 * 1024**3)
    with pytest.raises(Exception, match=r"ml.x9.huge.*has no known size"):
        resources_for("ml.x9.huge")
