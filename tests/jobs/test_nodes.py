"""Node tasks on the local compute backend (one node, 127.0.0.1) with a file:// lake."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sagebox.backends.compute.base import TaskState
from sagebox.errors import InputDataError
from sagebox.jobs.nodes import GroupOutcome, NodeGroup, NodeTaskSpec
from sagebox.session import Session

JOB = "nodes-test-1"


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _spec(host: str = "algo-1", hosts: list[str] | None = None, **kw: object) -> NodeTaskSpec:
    return NodeTaskSpec(job_name=JOB, host=host, hosts=hosts or [host], **kw)  # type: ignore[arg-type]


def _run_group(
    session: Session, specs: list[NodeTaskSpec], **kw: object
) -> tuple[GroupOutcome, str]:
    out = io.StringIO()
    with NodeGroup(session, JOB, count=len(specs), grace_seconds=10) as group:
        outcome = group.run(specs, out=out, **kw)  # type: ignore[arg-type]
    return outcome, out.getvalue()


def test_spec_round_trips_through_json() -> None:
    spec = _spec(
        argv=["x", "{root}"],
        env={"A": "{port}"},
        downloads=[("a/b", "in/b")],
        uploads=[("out", "p/")],
        synced=[("ck", "c/")],
        rendezvous=True,
    )
    assert NodeTaskSpec.from_json(spec.to_json()) == spec
    with pytest.raises(InputDataError, match="not one of hosts"):
        text = _spec(argv=["x"]).to_json()
        NodeTaskSpec.from_json(text.replace('"host": "algo-1"', '"host": "algo-9"'))


def test_downloads_object_and_prefix_and_uploads_after_success(session: Session) -> None:
    lake = session.storage
    lake.write_bytes("data/one.txt", b"one")
    lake.write_bytes("data/set/a.csv", b"a")
    lake.write_bytes("data/set/sub/b.csv", b"b")
    code = (
        "import pathlib, sys; r = pathlib.Path(sys.argv[1]);"
        "print(sorted(str(p.relative_to(r)) for p in r.rglob('*') if p.is_file()));"
        "(r / 'out').mkdir(); (r / 'out' / 'model.bin').write_text('m');"
        "(r / 'out' / 'd').mkdir(); (r / 'out' / 'd' / 'x').write_text('x')"
    )
    spec = _spec(
        argv=[*_py(code), "{root}"],
        downloads=[("data/one.txt", "in/"), ("data/one.txt", "in/renamed"), ("data/set/", "ds")],
        uploads=[("out", "jobs/nodes-test-1/output/")],
    )
    outcome, log = _run_group(session, [spec])
    assert outcome.ok, log
    assert "['ds/a.csv', 'ds/sub/b.csv', 'in/one.txt', 'in/renamed']" in log
    assert "[algo-1]" not in log  # one host: no prefix
    assert lake.read_bytes("jobs/nodes-test-1/output/model.bin") == b"m"
    assert lake.read_bytes("jobs/nodes-test-1/output/d/x") == b"x"
    nodes_dir = session.settings.jobs_dir / JOB / "nodes"
    assert not [p for p in nodes_dir.iterdir() if p.is_dir() and p.name.startswith("algo-")]


def test_uploads_skipped_but_synced_dirs_restored_and_uploaded_on_failure(
    session: Session,
) -> None:
    lake = session.storage
    lake.write_bytes("ckpt/step-1.pt", b"old")
    code = (
        "import pathlib, sys; r = pathlib.Path(sys.argv[1]);"
        "print('restored', (r / 'checkpoints' / 'step-1.pt').read_text());"
        "(r / 'checkpoints' / 'step-2.pt').write_text('new');"
        "(r / 'out').mkdir(); (r / 'out' / 'model.bin').write_text('m'); sys.exit(4)"
    )
    spec = _spec(
        argv=[*_py(code), "{root}"],
        uploads=[("out", "outputs/")],
        synced=[("checkpoints", "ckpt/")],
    )
    outcome, log = _run_group(session, [spec])
    assert not outcome.ok and outcome.host == "algo-1" and outcome.returncode == 4
    assert "restored old" in log
    assert lake.read_bytes("ckpt/step-2.pt") == b"new"
    assert lake.list("outputs/") == []
    assert "outputs not uploaded" in log


def test_synced_dir_uploaded_while_the_command_runs(
    sagebox_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEBOX_LOG_UPLOAD_SECONDS", "0.3")
    session = Session()
    gate = tmp_path / "gate"
    code = (
        "import pathlib, sys, time; r = pathlib.Path(sys.argv[1]);"
        "(r / 'ck' / 'early.txt').write_text('e');"
        "g = pathlib.Path(sys.argv[2]);"
        "exec('while not g.exists(): time.sleep(0.05)')"
    )
    spec = _spec(argv=[*_py(code), "{root}", str(gate)], synced=[("ck", "live/")])

    def open_gate_once_synced() -> None:
        deadline = time.monotonic() + 60
        while not session.storage.exists("live/early.txt") and time.monotonic() < deadline:
            time.sleep(0.05)
        gate.write_text("go")

    opener = threading.Thread(target=open_gate_once_synced)
    opener.start()
    outcome, _ = _run_group(session, [spec])
    opener.join()
    assert outcome.ok
    assert session.storage.read_bytes("live/early.txt") == b"e"


def test_rendezvous_port_is_the_same_on_every_node(session: Session) -> None:
    hosts = ["algo-1", "algo-2"]
    code = "import os, sys; print('port', sys.argv[1], os.environ['MASTER_PORT'])"
    specs = [
        _spec(h, hosts, argv=[*_py(code), "{port}"], env={"MASTER_PORT": "{port}"}, rendezvous=True)
        for h in hosts
    ]
    outcome, log = _run_group(session, specs)
    assert outcome.ok, log
    ports = {line.split()[-1] for line in log.splitlines() if " port " in line}
    pairs = {tuple(line.split()[-2:]) for line in log.splitlines() if " port " in line}
    assert len(ports) == 1 and all(a == b for a, b in pairs), log
    assert int(ports.pop()) > 0
    assert any(line.startswith("[algo-1] port") for line in log.splitlines())
    assert any(line.startswith("[algo-2] port") for line in log.splitlines())
    assert session.storage.list(f"jobs/{JOB}/rendezvous/") == []


def test_failure_of_one_host_stops_the_other(session: Session) -> None:
    hosts = ["algo-1", "algo-2"]
    specs = [
        _spec("algo-1", hosts, argv=_py("import time; print('waiting'); time.sleep(120)")),
        _spec("algo-2", hosts, argv=_py("import sys; print('bad input'); sys.exit(3)")),
    ]
    out = io.StringIO()
    with NodeGroup(session, JOB, count=2, grace_seconds=10) as group:
        outcome = group.run(specs, out=out)
        states = [session.compute.state(h) for h in group.handles]
    assert (outcome.ok, outcome.host, outcome.returncode) == (False, "algo-2", 3)
    assert outcome.tail[-1] == "bad input"
    assert outcome.summary() == "algo-2 exited with status 3: bad input"
    assert states == [TaskState.EXITED, TaskState.EXITED]


def test_on_line_and_external_stop(session: Session) -> None:
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def on_line(host: str, line: str) -> None:
        seen.append((host, line))
        if line == "ready":
            stop.set()

    spec = _spec(argv=_py("import time; print('ready', flush=True); time.sleep(120)"))
    outcome, _ = _run_group(session, [spec], on_line=on_line, stop=stop)
    assert outcome.stopped and not outcome.ok
    assert ("algo-1", "ready") in seen


def test_sigterm_is_forwarded_and_synced_dirs_still_upload(
    session: Session, tmp_path: Path
) -> None:
    spec_key = f"jobs/{JOB}/nodes/manual/algo-1.json"
    code = (
        "import pathlib, signal, sys, time; r = pathlib.Path(sys.argv[1]);"
        "signal.signal(signal.SIGTERM, lambda *a: ((r / 'ck' / 'last.txt').write_text('term'),"
        " sys.exit(7)));"
        "print('armed', flush=True); time.sleep(120)"
    )
    spec = _spec(argv=[*_py(code), "{root}"], synced=[("ck", "term/")])
    session.storage.write_bytes(spec_key, spec.to_json().encode())
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagebox.jobs.nodes", spec_key],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "armed"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 7
    assert session.storage.read_bytes("term/last.txt") == b"term"


def test_node_home_mode_leaves_the_submitter_home_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the lake and database outside the home, as on a cluster; the home unwritable
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith("SAGEBOX_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SAGEBOX_HOME", str(home))
    monkeypatch.setenv("SAGEBOX_STORAGE_URI", f"file://{tmp_path / 'lake'}")
    monkeypatch.setenv("SAGEBOX_METADATA_URI", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.chdir(tmp_path)
    session = Session()
    spec = _spec(argv=_py("import os; print('home', os.environ['SAGEBOX_HOME'])"))
    session.storage.write_bytes("spec.json", spec.to_json().encode())
    home.chmod(0o500)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sagebox.jobs.nodes", "--node-home", "spec.json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        home.chmod(0o700)
    assert done.returncode == 0, done.stderr
    node_home = done.stdout.split("home", 1)[1].split()[0]
    assert not node_home.startswith(str(home))
    assert not Path(node_home).exists()  # removed at exit
    assert list(home.iterdir()) == []


def test_specs_must_match_the_hosts(session: Session) -> None:
    with NodeGroup(session, JOB, count=2) as group, pytest.raises(InputDataError, match="hosts"):
        group.run([_spec(argv=["true"])])


def test_two_nodes_move_files_through_the_lake(lake_session: Session) -> None:
    """The whole round trip on each lake backend (an S3 bucket is what a cluster uses)."""
    lake = lake_session.storage
    lake.write_bytes("in/shard-0.txt", b"zero")
    lake.write_bytes("in/shard-1.txt", b"one")
    hosts = ["algo-1", "algo-2"]
    code = (
        "import os, pathlib, sys; r = pathlib.Path(sys.argv[1]); host = os.environ['HOST'];"
        "data = sorted(p.name for p in (r / 'data').iterdir());"
        "(r / 'out').mkdir(); (r / 'out' / (host + '.txt')).write_text(','.join(data));"
        "(r / 'ck' / (host + '.ckpt')).write_text(sys.argv[2])"
    )
    specs = [
        NodeTaskSpec(
            job_name=JOB,
            host=host,
            hosts=hosts,
            argv=[sys.executable, "-c", code, "{root}", "{port}"],
            env={"HOST": host},
            downloads=[("in/", "data")],
            uploads=[("out", "result/")],
            synced=[("ck", f"ck/{host}/")],
            rendezvous=True,
        )
        for host in hosts
    ]
    with NodeGroup(lake_session, JOB, count=2) as group:
        assert group.addresses == ("127.0.0.1", "127.0.0.1")
        outcome = group.run(specs, out=io.StringIO())
    assert outcome.ok
    for host in hosts:
        assert lake.read_bytes(f"result/{host}.txt") == b"shard-0.txt,shard-1.txt"
    ports = {lake.read_bytes(f"ck/{host}/{host}.ckpt") for host in hosts}
    assert len(ports) == 1 and int(ports.pop()) > 0
