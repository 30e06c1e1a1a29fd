"""The cluster path of processing jobs (node tasks, data through the lake), on the local backend.

The local backend implements the node-task machinery with one node (127.0.0.1), so calling
:func:`run_processing_on_nodes` directly runs every worker as a node task that downloads its
own share from the lake and stages its outputs there, as on a Ray cluster.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from sagebox.backends.metadata.base import JobRecord
from sagebox.errors import ConfigError, JobError
from sagebox.jobs.context import JobContext
from sagebox.processing import ProcessingEnvironment, ProcessingInput, ProcessingOutput
from sagebox.processing._cluster import run_processing_on_nodes
from sagebox.processing.job import run_processing
from sagebox.processing.spec import complete
from sagebox.session import Session

COUNT_ROWS = textwrap.dedent(
    """
    import glob, json, os, sys
    config = json.load(open("/opt/ml/config/resourceconfig.json"))
    host = config["current_host"]
    files = sorted(glob.glob("/opt/ml/processing/input/data/*.csv"))
    rows = sum(len(open(f).read().splitlines()) - 1 for f in files)
    out = sys.argv[sys.argv.index("--out") + 1]
    assert out == os.environ["SAGEBOX_PROCESSING_OUTPUT_COUNTS"], out
    assert out.startswith(os.environ["SAGEBOX_PROCESSING_ROOT"]), out
    with open(os.path.join(out, host + ".txt"), "w") as fh:
        names = ",".join(os.path.basename(f) for f in files)
        fh.write(f"{host} {rows} {names} {len(config['hosts'])}")
    """
)


def _context(session: Session, name: str, tmp_path: Path) -> JobContext:
    job = session.metadata.create_job(JobRecord(name=name, kind="processing"))
    workdir = tmp_path / name / "work"
    workdir.mkdir(parents=True)
    return JobContext(job=job, session=session, workdir=workdir)


def _script_code(session: Session, tmp_path: Path, body: str, job: str) -> dict[str, Any]:
    script = tmp_path / "count.py"
    script.write_text(body, encoding="utf-8")
    key = f"jobs/{job}/code/count.py"
    session.storage.upload(script, key)
    return {"script": key, "name": "count.py", "command": None, "path_mapping": True}


def _params(distribution: str = "ShardedByS3Key", mode: str = "EndOfJob") -> dict[str, Any]:
    ins, outs = complete(
        [ProcessingInput("raw/", input_name="data", distribution=distribution)],
        [ProcessingOutput(output_name="counts", upload_mode=mode)],
    )
    return {
        "inputs": ins,
        "outputs": outs,
        "arguments": ["--out", "/opt/ml/processing/output/counts"],
        "instance_count": 2,
    }


def _published(session: Session, uri: str) -> dict[str, str]:
    key = session.key_for(uri)
    return {
        info.key[len(key) :]: session.storage.read_bytes(info.key).decode()
        for info in session.storage.list(key)
    }


def test_sharded_job_on_nodes_gives_the_local_paths_outputs(
    session: Session, tmp_path: Path
) -> None:
    local_ctx = _context(session, "local-1", tmp_path)
    local = run_processing(
        local_ctx, code=_script_code(session, tmp_path, COUNT_ROWS, "local-1"), **_params()
    )
    nodes_ctx = _context(session, "nodes-1", tmp_path)
    nodes = run_processing_on_nodes(
        nodes_ctx, code=_script_code(session, tmp_path, COUNT_ROWS, "nodes-1"), **_params()
    )
    expected = {"algo-1.txt": "algo-1 4 part-0.csv,part-2.csv 2"}
    expected["algo-2.txt"] = "algo-2 6 part-1.csv,part-3.csv 2"
    assert _published(session, local["counts"]) == expected
    assert _published(session, nodes["counts"]) == expected
    assert nodes["counts"].endswith("jobs/nodes-1/output/counts/")
    job = session.metadata.get_job("nodes-1")
    assert job.outputs["counts"] == nodes["counts"]
    artifacts = session.metadata.list_artifacts(producer_job="nodes-1")
    assert sorted(a.uri.rsplit("/", 1)[1] for a in artifacts) == ["algo-1.txt", "algo-2.txt"]
    assert all(a.sha256 for a in artifacts)
    # the staging prefixes and the per-host files are gone once the outputs are published
    assert session.storage.list("jobs/nodes-1/hosts/") == []


def count_in_function(env: ProcessingEnvironment) -> None:
    """A pickled processing function: writes what it received."""
    names = ",".join(sorted(p.name for p in env.inputs["data"].iterdir()))
    text = f"{env.host} {names} {' '.join(env.arguments)}"
    (env.outputs["counts"] / f"{env.host}.txt").write_text(text)


def test_pickled_function_comes_through_the_lake(session: Session, tmp_path: Path) -> None:
    ctx = _context(session, "nodes-fn", tmp_path)
    session.storage.write_bytes("jobs/nodes-fn/code/function.pkl", _pickled(count_in_function))
    uris = run_processing_on_nodes(
        ctx, code={"pickled": "jobs/nodes-fn/code/function.pkl"}, **_params("FullyReplicated")
    )
    files = _published(session, uris["counts"])
    every = "part-0.csv,part-1.csv,part-2.csv,part-3.csv"
    assert files["algo-1.txt"].startswith(f"algo-1 {every} --out /")
    assert files["algo-2.txt"].startswith(f"algo-2 {every} --out /")
    # the argument points below the node's own root, not at a runner-side directory
    assert files["algo-2.txt"].endswith("/opt/ml/processing/output/counts")
    assert str(ctx.workdir) not in files["algo-2.txt"]


def _pickled(function: Any) -> bytes:
    import sys

    module = sys.modules[function.__module__]
    cloudpickle.register_pickle_by_value(module)
    try:
        return bytes(cloudpickle.dumps(function))
    finally:
        cloudpickle.unregister_pickle_by_value(module)


FAIL_ONE = textwrap.dedent(
    """
    import json, os, sys, time
    host = json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"]
    open(f"/opt/ml/processing/output/counts/{host}.txt", "w").write("partial")
    if host == "algo-2":
        # wait until algo-1 runs, so that there is a worker to stop
        deadline = time.monotonic() + 60
        while not os.path.exists(os.environ["PID_DIR"] + "/algo-1") and time.monotonic() < deadline:
            time.sleep(0.05)
        print("bad row 17", flush=True)
        sys.exit(3)
    open(os.environ["PID_DIR"] + "/" + host, "w").write(str(os.getpid()))
    time.sleep(120)  # stopped long before
    """
)


def test_a_failing_worker_stops_the_other_and_publishes_nothing(
    session: Session, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    ctx = _context(session, "nodes-fail", tmp_path)
    code = _script_code(session, tmp_path, FAIL_ONE, "nodes-fail")
    with pytest.raises(JobError, match="worker algo-2 exited with status 3") as caught:
        run_processing_on_nodes(ctx, code=code, environment={"PID_DIR": str(pids)}, **_params())
    assert "bad row 17" in str(caught.value)
    pid = int((pids / "algo-1").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert session.storage.list("jobs/nodes-fail/output/") == []
    assert session.storage.list("jobs/nodes-fail/hosts/") == []
    assert "counts" not in session.metadata.get_job("nodes-fail").outputs


def test_two_workers_writing_one_file_is_an_error(session: Session, tmp_path: Path) -> None:
    ctx = _context(session, "nodes-same", tmp_path)
    body = "open('/opt/ml/processing/output/counts/same.txt', 'w').write('x')\n"
    code = _script_code(session, tmp_path, body, "nodes-same")
    with pytest.raises(JobError, match="two workers wrote the same output file counts/same.txt"):
        run_processing_on_nodes(ctx, code=code, **_params())


def test_continuous_outputs_are_refused_up_front(session: Session, tmp_path: Path) -> None:
    ctx = _context(session, "nodes-cont", tmp_path)
    code = _script_code(session, tmp_path, COUNT_ROWS, "nodes-cont")
    with pytest.raises(ConfigError, match="output 'counts' uses upload_mode='Continuous'"):
        run_processing_on_nodes(ctx, code=code, **_params(mode="Continuous"))
    assert session.storage.list("jobs/nodes-cont/hosts/") == []


def test_sagemaker_distribution_spellings_are_accepted() -> None:
    assert ProcessingInput("raw/", distribution="ShardedByS3Key").distribution == "ShardedByKey"
    spelled = ProcessingInput("raw/", s3_data_distribution_type="ShardedByS3Key")
    assert spelled.distribution == "ShardedByKey"
    assert ProcessingInput("raw/", distribution="FullyReplicated").distribution == (
        "FullyReplicated"
    )
