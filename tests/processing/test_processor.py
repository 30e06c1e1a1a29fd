"""Processing jobs: container paths, sharding, callables, uploads, failures, bad input."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import InputDataError, JobError
from sagebox.jobs import JobClient
from sagebox.processing import ProcessingEnvironment, ProcessingInput, ProcessingOutput, Processor
from sagebox.session import Session

COURSE_STYLE = textwrap.dedent(
    """
    import argparse, glob, json, os
    import pandas as pd

    parser = argparse.ArgumentParser()
    parser.add_argument("--output-data", default="/opt/ml/processing/output/counts")
    parser.add_argument("--factor", type=int, default=1)
    args = parser.parse_args()
    config = json.load(open("/opt/ml/config/resourceconfig.json"))
    files = sorted(glob.glob("/opt/ml/processing/input/data/*.csv"))
    rows = sum(len(pd.read_csv(f)) for f in files)
    os.makedirs(args.output_data, exist_ok=True)
    out = pd.DataFrame({"host": [config["current_host"]], "rows": [rows * args.factor],
                        "files": [",".join(os.path.basename(f) for f in files)],
                        "hosts": [len(config["hosts"])]})
    out.to_csv(os.path.join(args.output_data, config["current_host"] + ".csv"), index=False)
    with open("/opt/ml/processing/output/counts/arg.txt." + config["current_host"], "w") as fh:
        fh.write(args.output_data)
    """
)


def _script(tmp_path: Path, body: str, name: str = "prep.py") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _read_csvs(session: Session, uri: str) -> dict[str, str]:
    key = session.key_for(uri)
    return {
        info.key[len(key) :]: session.storage.read_bytes(info.key).decode()
        for info in session.storage.list(key)
    }


def test_course_style_script_runs_unchanged_on_sharded_workers(
    session: Session, tmp_path: Path
) -> None:
    processor = Processor(instance_count=2, session=session)
    job = processor.run(
        _script(tmp_path, COURSE_STYLE),
        inputs=[
            ProcessingInput(
                "raw/", destination="/opt/ml/processing/input/data", distribution="ShardedByKey"
            )
        ],
        outputs=[ProcessingOutput(source="/opt/ml/processing/output/counts")],
        arguments=["--output-data", "/opt/ml/processing/output/counts", "--factor", "10"],
        logs=False,
    )
    files = _read_csvs(session, job.outputs["counts"])
    assert sorted(files) == ["algo-1.csv", "algo-2.csv", "arg.txt.algo-1", "arg.txt.algo-2"]
    assert 'algo-1,40,"part-0.csv,part-2.csv",2' in files["algo-1.csv"]  # (1 + 3) x 10
    assert 'algo-2,60,"part-1.csv,part-3.csv",2' in files["algo-2.csv"]
    assert files["arg.txt.algo-1"].endswith("hosts/algo-1/opt/ml/processing/output/counts")
    artifacts = session.metadata.list_artifacts(producer_job=job.name)
    assert len(artifacts) == 4 and all(a.sha256 for a in artifacts)
    assert job.inputs == {"data": "raw/"}


def copy_inputs_then_wait_for_upload(env: ProcessingEnvironment) -> None:
    """Write a file, wait until the job uploaded it (Continuous), then write another."""
    from sagebox.session import Session

    first = env.outputs["live"] / f"first-{env.host}.txt"
    first.write_text(",".join(sorted(p.name for p in env.inputs["data"].iterdir())))
    session = Session()
    key = f"jobs/{env.job_name}/output/live/{first.name}"
    deadline = time.monotonic() + 60
    while not session.storage.exists(key):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} was not uploaded while the job ran")
        time.sleep(0.05)  # polling interval, not synchronisation
    (env.outputs["live"] / f"second-{env.host}.txt").write_text(" ".join(env.arguments))


def test_function_with_replicated_input_and_continuous_upload(session: Session) -> None:
    processor = Processor(instance_count=2, session=session)
    job = processor.run(
        copy_inputs_then_wait_for_upload,
        inputs=[ProcessingInput("raw/", input_name="data")],
        outputs=[ProcessingOutput(output_name="live", upload_mode="Continuous")],
        arguments=["--out", "/opt/ml/processing/output/live"],
        logs=False,
    )
    files = _read_csvs(session, job.outputs["live"])
    every = "part-0.csv,part-1.csv,part-2.csv,part-3.csv"
    assert files["first-algo-1.txt"] == files["first-algo-2.txt"] == every
    assert files["second-algo-2.txt"].endswith("hosts/algo-2/opt/ml/processing/output/live")
    assert session.metadata.get_job(job.name).parameters["code"]["pickled"].endswith(".pkl")


def test_a_failing_worker_fails_the_job_and_uploads_nothing(
    session: Session, tmp_path: Path
) -> None:
    body = textwrap.dedent(
        """
        import json, sys
        host = json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"]
        open(f"/opt/ml/processing/output/out/{host}.txt", "w").write("partial")
        if host == "algo-2":
            print("bad row 17"); sys.exit(3)
        """
    )
    processor = Processor(instance_count=2, session=session)
    with pytest.raises(JobError, match="ended Failed: worker algo-2 exited with status 3"):
        processor.run(
            _script(tmp_path, body), outputs=[ProcessingOutput(output_name="out")], logs=False
        )
    job = processor.latest_job
    assert job is not None and "bad row 17" in (job.failure_reason or "")
    assert session.storage.list(f"jobs/{job.name}/output/") == []


def test_two_workers_writing_one_file_is_an_error(session: Session, tmp_path: Path) -> None:
    body = "open('/opt/ml/processing/output/out/same.txt', 'w').write('x')\n"
    with pytest.raises(JobError, match="two workers wrote the same output file out/same.txt"):
        Processor(instance_count=2, session=session).run(
            _script(tmp_path, body), outputs=[ProcessingOutput(output_name="out")], logs=False
        )


def test_shell_scripts_get_mapped_arguments(session: Session, tmp_path: Path) -> None:
    body = 'echo "$SAGEBOX_PROCESSING_HOST $2" > "$1/host.txt"\n'
    job = Processor(session=session).run(
        _script(tmp_path, body, "run.sh"),
        outputs=[ProcessingOutput(output_name="o")],
        arguments=["/opt/ml/processing/output/o", "--flag=/opt/ml/processing/x"],
        logs=False,
    )
    text = _read_csvs(session, job.outputs["o"])["host.txt"]
    assert text.startswith("algo-1 --flag=") and text.strip().endswith("/opt/ml/processing/x")


def test_stopping_the_job_stops_its_workers(session: Session, tmp_path: Path) -> None:
    body = "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(120)\n"
    processor = Processor(instance_count=2, session=session)
    job = processor.run(_script(tmp_path, body), wait=False)
    jobs = JobClient(session)
    deadline = time.monotonic() + 60
    pids: list[int] = []
    while len(pids) < 2:
        assert time.monotonic() < deadline, "workers did not start"
        log = jobs.logs(job.name) if job.name else ""
        pids = [int(line.split()[-1]) for line in log.splitlines() if " pid " in f" {line}"]
        time.sleep(0.1)  # polling interval
    assert jobs.stop(job.name, grace_seconds=5).status is JobStatus.STOPPED
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"workers {pids} outlived the stopped job"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ProcessingInput("raw/", distribution="Random"), "unknown input distribution"),
        (lambda: ProcessingInput("raw/", destination="/tmp/in"), "is not below /opt/ml/processing"),
        (lambda: ProcessingInput("raw/", input_name="bad name"), "invalid input name"),
        (lambda: ProcessingOutput(output_name="o", upload_mode="Sometimes"), "upload mode"),
        (lambda: ProcessingOutput(source="/opt/ml/processing/../x"), "is not below"),
        (lambda: Processor(instance_count=0), "instance_count must be"),
    ],
)
def test_bad_specs(session: Session, build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputDataError, match=message):
        build()


def test_bad_runs_fail_before_submitting(session: Session, tmp_path: Path) -> None:
    processor = Processor(session=session)
    script = _script(tmp_path, "print('hi')\n")
    cases = [
        ({"inputs": [ProcessingInput("nothing/here/")]}, "has no data at nothing/here/"),
        (
            {
                "inputs": [
                    ProcessingInput("raw/", "/opt/ml/processing/input/a"),
                    ProcessingInput("raw/", "/opt/ml/processing/input/a"),
                ]
            },
            "duplicate input",
        ),
        (
            {
                "outputs": [
                    ProcessingOutput(output_name="a"),
                    ProcessingOutput(source="/opt/ml/processing/output/a/b"),
                ]
            },
            "overlap",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(InputDataError, match=message):
            processor.run(script, logs=False, **kwargs)
    with pytest.raises(InputDataError, match="neither a file nor a module:function"):
        processor.run("missing.py", logs=False)
    assert JobClient(session).list(kind="processing") == []


def test_local_inputs_are_uploaded_first(session: Session, tmp_path: Path) -> None:
    data = tmp_path / "local-data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("A")
    (data / "sub" / "b.txt").write_text("B")
    body = (
        "import os\n"
        "root = '/opt/ml/processing/input/local'\n"
        "names = sorted(os.path.relpath(os.path.join(d, f), root)"
        " for d, _, fs in os.walk(root) for f in fs)\n"
        "open('/opt/ml/processing/output/o/names.txt', 'w').write(','.join(names))\n"
    )
    job = Processor(session=session).run(
        _script(tmp_path, body),
        inputs=[ProcessingInput(str(data), input_name="local")],
        outputs=[ProcessingOutput(output_name="o")],
        logs=False,
    )
    assert _read_csvs(session, job.outputs["o"])["names.txt"] == "a.txt,sub/b.txt"
    assert job.inputs["local"].endswith(f"jobs/{job.name}/input/local/")


def test_processing_via_cli(session: Session, tmp_path: Path) -> None:
    import subprocess
    import sys

    script = _script(tmp_path, COURSE_STYLE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sagebox",
            "process",
            str(script),
            "-i",
            "data=raw/",
            "--input-destination",
            "data=/opt/ml/processing/input/data",
            "--sharded",
            "data",
            "-o",
            "counts=results/counts/",
            "-n",
            "2",
            "--instance-type",
            "ml.m5.xlarge",
            "--json",
            "--",
            "--factor",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout.strip().splitlines()[-1])
    assert job["status"] == "Completed" and job["outputs"]["counts"].endswith("results/counts/")
    assert session.storage.exists("results/counts/algo-2.csv")
    # recorded with the job; the local backend reserves nothing, so any cluster size runs here
    assert job["parameters"]["instance_type"] == "ml.m5.xlarge"
    usage = subprocess.run(
        [sys.executable, "-m", "sagebox", "process", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert usage.returncode == 0 and "--instance-type" in usage.stdout
    assert "local:N" in usage.stdout and "ml.m5.xlarge" in usage.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "sagebox", "process", str(script), "--sharded", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "error: no --input named 'nope'" in bad.stderr
