"""Jobs on the cluster profile: moto S3 lake, PostgreSQL metadata, a two-node Ray cluster.

The submitter's ``SAGEBOX_HOME`` is a directory of its own whose full listing (every path with
its mtime and size, directories included, so a file created and removed again shows too) must
be the same after the job: a job on the cluster works in a node-local home of its own.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import uuid
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.backends.storage import open_store
from sagebox.config import Settings
from sagebox.errors import ConfigError
from sagebox.jobs import JobClient
from sagebox.jobs.nodes import NodeGroup, NodeTaskSpec
from sagebox.session import Session
from tests.fixtures.ray import RayCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _listing(root: Path) -> list[tuple[str, int, int]]:
    paths = [root, *root.rglob("*")]
    return sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


@pytest.fixture()
def cluster_settings(
    s3_server: str,  # first: the Ray nodes inherit its S3 credentials when they start after it
    postgres_url: str,
    ray_cluster: RayCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    for key in list(os.environ):
        if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "submitter-home"
    (home / "jobs").mkdir(parents=True)
    (home / "notes.txt").write_text("the submitter's own file")
    settings = Settings(
        home=home,
        storage_uri=f"s3://sbjobs-{uuid.uuid4().hex[:10]}/lake",
        s3_endpoint_url=s3_server,
        metadata_uri=postgres_url,
        compute=f"{ray_cluster.uri}?gcs={ray_cluster.gcs_address}",
        log_upload_seconds=0.5,
        max_workers=4,
    )
    open_store(settings.storage_uri, settings).ensure_bucket()  # type: ignore[attr-defined]
    return settings


def test_submit_refuses_a_local_lake_before_creating_the_job(
    cluster_settings: Settings, tmp_path: Path
) -> None:
    local = cluster_settings.model_copy(update={"storage_uri": f"file://{tmp_path / 'lake'}"})
    jobs = JobClient(Session(local))
    name = f"refused-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ConfigError, match="storage_uri=file://.*cannot share.*s3://"):
        jobs.submit("command", parameters={"argv": ["true"]}, name=name)
    assert name not in [j.name for j in jobs.session.metadata.list_jobs(limit=1000)]


def test_command_job_runs_on_the_cluster_and_its_log_is_followed(
    cluster_settings: Settings, tmp_path: Path
) -> None:
    home = cluster_settings.home
    before = _listing(home)
    gate = tmp_path / "gate"
    code = (
        "import os, pathlib, time;"
        "print('node home', os.environ['SAGEBOX_HOME'], flush=True);"
        "print('first line', flush=True);"
        f"g = pathlib.Path({str(gate)!r});"
        "exec('while not g.exists(): time.sleep(0.05)');"
        "print('second line', flush=True)"
    )
    jobs = JobClient(Session(cluster_settings))
    job = jobs.submit("command", parameters={"argv": [sys.executable, "-c", code]})
    assert job.handle and job.handle.startswith("ray:job:")
    # should the log never reach the client, the job is let go on after a deadline, so
    # that the test fails on what it checks rather than hanging
    fallback = threading.Timer(90, lambda: gate.write_text("deadline"))
    fallback.start()
    chunks: list[str] = []
    try:
        for chunk in jobs.follow(job.name):
            chunks.append(chunk)
            if "first line" in "".join(chunks) and not gate.exists():
                assert "second line" not in jobs.logs(job.name)  # read from the lake, mid-run
                gate.write_text("go")
    finally:
        fallback.cancel()
    assert gate.read_text() == "go", "the log did not reach the client while the job ran"
    done = jobs.wait(job.name, timeout=120)
    assert done.status is JobStatus.COMPLETED, done.failure_reason
    followed = "".join(chunks)
    assert followed == jobs.logs(job.name)
    for line in ("first line", "second line", f"job {job.name} ended: Completed"):
        assert followed.count(line) == 1, followed
    node_home = followed.split("node home ", 1)[1].split()[0]
    assert not node_home.startswith(str(home))
    assert not Path(node_home).exists()  # the runner removed its node-local home
    assert _listing(home) == before, "the job touched the submitter's SAGEBOX_HOME"


def test_stop_from_a_second_client(cluster_settings: Settings) -> None:
    before = _listing(cluster_settings.home)
    first = JobClient(Session(cluster_settings))
    code = "import time; print('sleeping', flush=True); time.sleep(300)"
    job = first.submit("command", parameters={"argv": [sys.executable, "-c", code]})
    chunks: list[str] = []
    for chunk in first.follow(job.name):
        chunks.append(chunk)
        if "sleeping" in "".join(chunks):
            break
    # the runner's own lines reach the lake while it runs, not only its children's
    assert f"job {job.name} (command) started" in first.logs(job.name)
    second = JobClient(Session(cluster_settings))  # another CLI, e.g. on another machine
    stopped = second.stop(job.name, grace_seconds=20)
    assert stopped.status is JobStatus.STOPPED
    final = first.wait(job.name, timeout=60)
    assert final.status is JobStatus.STOPPED
    assert "sleeping" in second.logs(job.name)
    assert _listing(cluster_settings.home) == before


def test_node_group_spreads_over_both_nodes_with_one_rendezvous(
    cluster_settings: Settings,
) -> None:
    session = Session(cluster_settings)
    name = f"nodes-{uuid.uuid4().hex[:6]}"
    session.storage.write_bytes(f"in/{name}/data.txt", b"shared input")
    code = (
        "import os, pathlib, sys; r = pathlib.Path(sys.argv[1]);"
        "print('seen', os.environ['HOST'], os.environ['SAGEBOX_NODE_ID'], sys.argv[2],"
        " (r / 'data.txt').read_text().replace(' ', '_'), flush=True);"
        "(r / 'out').mkdir(); (r / 'out' / 'done.txt').write_text(os.environ['HOST'])"
    )
    lines: list[tuple[str, str]] = []
    with NodeGroup(session, name, count=2, timeout=60) as group:
        assert len(group.addresses) == 2
        specs = [
            NodeTaskSpec(
                job_name=name,
                host=host,
                hosts=group.hosts,
                argv=[sys.executable, "-c", code, "{root}", "{port}"],
                env={"HOST": host, "MASTER_ADDR": group.addresses[0]},
                downloads=[(f"in/{name}/data.txt", "")],
                uploads=[("out", f"out/{name}/{host}/")],
                rendezvous=True,
            )
            for host in group.hosts
        ]
        outcome = group.run(
            specs, out=io.StringIO(), on_line=lambda host, line: lines.append((host, line))
        )
    assert outcome.ok, outcome.summary()
    seen = [line.split() for _, line in lines if line.startswith("seen ")]
    assert sorted(s[1] for s in seen) == ["algo-1", "algo-2"]
    assert len({s[2] for s in seen}) == 2  # two distinct Ray nodes
    assert len({s[3] for s in seen}) == 1  # one rendezvous port
    assert {s[4] for s in seen} == {"shared_input"}
    for host in ("algo-1", "algo-2"):
        assert session.storage.read_bytes(f"out/{name}/{host}/done.txt") == host.encode()
