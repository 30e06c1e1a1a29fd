"""Sharded processing on the cluster profile: a two-node Ray cluster, moto S3, PostgreSQL.

A 2-instance processing job submitted with :class:`sagebox.processing.Processor`, as a user
would (the settings in the environment only), runs its runner as a Ray job and its two workers
on the two Ray nodes; each worker downloads only its share of a ``ShardedByS3Key`` input (and
all of a ``FullyReplicated`` one) from S3, and the outputs are published in the lake as on the
local path. The submitter's ``SAGEBOX_HOME`` is left as it was.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.errors import InputDataError
from sagebox.jobs import JobClient
from sagebox.processing import (
    ProcessingEnvironment,
    ProcessingInput,
    ProcessingOutput,
    Processor,
)
from sagebox.session import Session
from tests.fixtures.ray import RayCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JOB_TIMEOUT_S = 300

#: what each worker reports: its host, the Ray node it ran on, what it received
REPORT = textwrap.dedent(
    """
    import glob, json, os, sys
    host = json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"]
    data = sorted(glob.glob("/opt/ml/processing/input/data/*.csv"))
    rows = sum(len(open(f).read().splitlines()) - 1 for f in data)
    vocab = open("/opt/ml/processing/input/vocab/vocab.txt").read().split()
    report = {
        "host": host,
        "node": os.environ["SAGEBOX_NODE_ID"],
        "files": [os.path.basename(f) for f in data],
        "rows": rows,
        "vocab": vocab,
        "factor": sys.argv[sys.argv.index("--factor") + 1],
    }
    out = sys.argv[sys.argv.index("--out") + 1]
    with open(os.path.join(out, host + ".json"), "w") as fh:
        json.dump(report, fh)
    print(f"{host} on node {report['node']}: {report['files']}", flush=True)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status


def _listing(root: Path) -> list[tuple[str, int, int]]:
    paths = [root, *root.rglob("*")]
    return sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


@pytest.fixture()
def cluster_session(
    cluster_session: Session, sagebox_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """The conftest's cluster profile with 4 CSV shards and a file in the submitter's home."""
    sagebox_env.mkdir(parents=True, exist_ok=True)
    (sagebox_env / "notes.txt").write_text("the submitter's own file")
    monkeypatch.setenv("SAGEBOX_LOG_UPLOAD_SECONDS", "0.5")
    session = Session()
    for i in range(4):
        rows = "".join(f"{i},{j}\n" for j in range(i + 1))
        session.storage.write_bytes(f"raw/part-{i}.csv", f"shard,row\n{rows}".encode())
    session.storage.write_bytes("vocab/vocab.txt", b"good bad fine\n")
    yield session


def _node_ids(cluster: RayCluster) -> set[str]:
    return {str(n["node_id"]) for n in cluster.nodes() if n["state"] == "ALIVE"}


def _reports(session: Session, uri: str) -> dict[str, dict[str, Any]]:
    key = session.key_for(uri)
    return {
        info.key[len(key) :]: json.loads(session.storage.read_bytes(info.key))
        for info in session.storage.list(key)
    }


def _finish(session: Session, job: JobRecord) -> JobRecord:
    done = JobClient(session).wait(job.name, timeout=JOB_TIMEOUT_S)
    assert done.status is JobStatus.COMPLETED, done.failure_reason
    return done


def test_sharded_script_job_runs_one_worker_per_node_each_on_its_shard(
    cluster_session: Session,
    ray_cluster: RayCluster,
    sagebox_env: Path,
    tmp_path: Path,
) -> None:
    script = tmp_path / "report.py"
    script.write_text(REPORT, encoding="utf-8")
    before = _listing(sagebox_env)
    processor = Processor(instance_count=2, instance_type="local")
    job = processor.run(
        script,
        inputs=[
            ProcessingInput("raw/", input_name="data", distribution="ShardedByS3Key"),
            ProcessingInput("vocab/", input_name="vocab"),
        ],
        outputs=[ProcessingOutput(output_name="counts")],
        arguments=["--out", "/opt/ml/processing/output/counts", "--factor", "3"],
        wait=False,
    )
    assert job.handle and job.handle.startswith("ray:job:")  # the runner is a Ray job
    done = _finish(cluster_session, job)
    reports = _reports(cluster_session, done.outputs["counts"])
    assert sorted(reports) == ["algo-1.json", "algo-2.json"]
    one, two = reports["algo-1.json"], reports["algo-2.json"]
    assert (one["host"], one["files"], one["rows"]) == ("algo-1", ["part-0.csv", "part-2.csv"], 4)
    assert (two["host"], two["files"], two["rows"]) == ("algo-2", ["part-1.csv", "part-3.csv"], 6)
    assert one["vocab"] == two["vocab"] == ["good", "bad", "fine"]  # FullyReplicated: both
    assert one["factor"] == two["factor"] == "3"
    assert one["node"] != two["node"], "both workers ran on one Ray node"
    assert {one["node"], two["node"]} == _node_ids(ray_cluster)
    log = JobClient(cluster_session).logs(done.name)
    assert "processing on 2 node(s)" in log
    assert f"algo-2 on node {two['node']}" in log  # worker output reaches the job's log
    artifacts = cluster_session.metadata.list_artifacts(producer_job=done.name)
    assert sorted(a.uri.rsplit("/", 1)[1] for a in artifacts) == ["algo-1.json", "algo-2.json"]
    assert cluster_session.storage.list(f"jobs/{done.name}/hosts/") == []  # staging removed
    assert _listing(sagebox_env) == before, "the job touched the submitter's SAGEBOX_HOME"


def report_in_function(env: ProcessingEnvironment) -> None:
    """A processing function (pickled by value: this module is not installed on the nodes)."""
    import os

    report = {
        "host": env.host,
        "node": os.environ["SAGEBOX_NODE_ID"],
        "files": sorted(p.name for p in env.inputs["data"].iterdir()),
    }
    (env.outputs["counts"] / f"{env.host}.json").write_text(json.dumps(report))


def test_sharded_function_job_reaches_the_nodes_through_the_lake(
    cluster_session: Session,
    ray_cluster: RayCluster,
) -> None:
    processor = Processor(instance_count=2)
    job = processor.run(
        report_in_function,
        inputs=[ProcessingInput("raw/", input_name="data", distribution="ShardedByS3Key")],
        outputs=[ProcessingOutput(output_name="counts")],
        wait=False,
    )
    done = _finish(cluster_session, job)
    reports = _reports(cluster_session, done.outputs["counts"])
    assert reports["algo-1.json"]["files"] == ["part-0.csv", "part-2.csv"]
    assert reports["algo-2.json"]["files"] == ["part-1.csv", "part-3.csv"]
    assert {r["node"] for r in reports.values()} == _node_ids(ray_cluster)


def test_an_instance_type_without_a_size_is_refused_before_the_job_is_made(
    cluster_session: Session,
) -> None:
    processor = Processor(instance_count=2, instance_type="ml.m5.huge")
    with pytest.raises(InputDataError, match="instance_type='ml.m5.huge' has no known size"):
        processor.run(
            report_in_function,
            inputs=[ProcessingInput("raw/", input_name="data")],
            job_name="bad-size",
        )
    assert cluster_session.metadata.list_jobs(limit=100) == []
    assert cluster_session.storage.list("jobs/bad-size/") == []


#: algo-2 fails once algo-1 is running (algo-1 tells it through the lake: the nodes share
#: nothing else); algo-1 would run for minutes unless stopped
FAIL_ONE = textwrap.dedent(
    """
    import json, os, sys, time
    import boto3
    host = json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"]
    s3 = boto3.client("s3", endpoint_url=os.environ["SAGEBOX_S3_ENDPOINT_URL"])
    bucket, marker = os.environ["MARKER_BUCKET"], os.environ["MARKER_KEY"]
    open(f"/opt/ml/processing/output/counts/{host}.txt", "w").write("partial")
    if host == "algo-1":
        s3.put_object(Bucket=bucket, Key=marker, Body=str(os.getpid()).encode())
        time.sleep(600)  # stopped long before
    deadline = time.monotonic() + 120
    while "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=marker):
        assert time.monotonic() < deadline, "algo-1 never started"
        time.sleep(0.1)
    print("bad row 17", flush=True)
    sys.exit(3)
    """
)


def test_a_failing_worker_fails_the_job_stops_the_other_node_and_publishes_nothing(
    cluster_session: Session,
    tmp_path: Path,
) -> None:
    script = tmp_path / "fail_one.py"
    script.write_text(FAIL_ONE, encoding="utf-8")
    storage = cluster_session.storage
    bucket, _, prefix = cluster_session.settings.storage_uri.removeprefix("s3://").partition("/")
    processor = Processor(
        instance_count=2,
        env={"MARKER_BUCKET": bucket, "MARKER_KEY": f"{prefix}/markers/algo-1-running"},
    )
    job = processor.run(
        script,
        inputs=[ProcessingInput("raw/", input_name="data", distribution="ShardedByS3Key")],
        outputs=[ProcessingOutput(output_name="counts")],
        wait=False,
    )
    done = JobClient(cluster_session).wait(job.name, timeout=JOB_TIMEOUT_S)
    assert done.status is JobStatus.FAILED
    assert "worker algo-2 exited with status 3" in (done.failure_reason or "")
    assert "bad row 17" in (done.failure_reason or "")
    pid = int(storage.read_bytes("markers/algo-1-running"))  # algo-1 ran when algo-2 failed
    deadline = time.monotonic() + 60
    while _alive(pid):  # its node is this machine: the stopped worker's process is gone
        assert time.monotonic() < deadline, f"algo-1 (pid {pid}) still runs after the job failed"
        time.sleep(0.2)  # polling interval
    assert storage.list(f"jobs/{done.name}/output/") == []
    assert storage.list(f"jobs/{done.name}/hosts/") == []
    assert "counts" not in done.outputs
