"""The cluster rules of the job layer, checked without a cluster.

A runner started as on a cluster node (``--node-home``, the settings in its environment but
not ``SAGEBOX_HOME``) runs here on the local machine with a lake and a database outside the
submitter's home, which is made unwritable: the runner must keep to its own node-local home,
and its log must reach the client through the lake while it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.config import Settings, load_settings
from sagebox.errors import ConfigError
from sagebox.jobs import JobClient
from sagebox.jobs.cluster import check_cluster_settings, node_home, task_env
from sagebox.session import Session

CLUSTER = {
    "storage_uri": "s3://lake/sagebox",
    "metadata_uri": "postgresql://sagebox@db:5432/sagebox",
    "online_store_uri": "redis://cache:6379/0",
    "compute": "ray://head:10001",
}


def _settings(**overrides: str) -> Settings:
    return Settings(home=Path("/home/me/.sagebox"), **{**CLUSTER, **overrides})  # type: ignore[arg-type]


def test_cluster_settings_accepted() -> None:
    check_cluster_settings(_settings(), online_store=True)


@pytest.mark.parametrize(
    ("setting", "value", "fix"),
    [
        ("storage_uri", "file:///home/me/.sagebox/lake", "s3://bucket/prefix"),
        ("metadata_uri", "sqlite:////home/me/.sagebox/sagebox.db", "postgresql://"),
        ("online_store_uri", "sqlite:////home/me/.sagebox/online.db", "redis://"),
    ],
)
def test_settings_nodes_cannot_share_are_refused(setting: str, value: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_cluster_settings(_settings(**{setting: value}), online_store=True)
    message = str(caught.value)
    assert f"{setting}={value}" in message
    assert "cannot share" in message and "ray://head:10001" in message and fix in message
    assert "\n" not in message


def test_online_store_checked_only_when_the_kind_needs_it() -> None:
    check_cluster_settings(_settings(online_store_uri="sqlite:///x.db"), online_store=False)


def test_task_env_leaves_the_home_out_on_a_cluster() -> None:
    settings = _settings()
    env = task_env(settings, shares_filesystem=False)
    assert "SAGEBOX_HOME" not in env
    assert env["SAGEBOX_STORAGE_URI"] == CLUSTER["storage_uri"]
    assert env["SAGEBOX_LOG_UPLOAD_SECONDS"] == "5.0"
    rebuilt = load_settings(env={**env, "SAGEBOX_HOME": "/node/home"}, toml_path=None)
    assert rebuilt.model_dump() == {**settings.model_dump(), "home": Path("/node/home")}
    assert task_env(settings, shares_filesystem=True)["SAGEBOX_HOME"] == "/home/me/.sagebox"


def test_node_home_is_private_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEBOX_HOME", "/submitter/home")
    with node_home() as home:
        assert os.environ["SAGEBOX_HOME"] == str(home)
        assert home.stat().st_mode & 0o777 == 0o700
        (home / "jobs").mkdir()
    assert not home.exists()
    assert os.environ["SAGEBOX_HOME"] == "/submitter/home"


def _listing(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")
    )


@pytest.fixture()
def submitter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    """A submitter whose lake and database live outside its home, as on a cluster."""
    for key in list(os.environ):
        if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    (home / "jobs").mkdir(parents=True)
    return Session(
        Settings(
            home=home,
            storage_uri=f"file://{tmp_path / 'lake'}",
            metadata_uri=f"sqlite:///{tmp_path / 'meta.db'}",
            log_upload_seconds=0.3,
        )
    )


def _start_node_runner(session: Session, name: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEBOX_")}
    env.update(task_env(session.settings, shares_filesystem=False))
    return subprocess.Popen(
        [sys.executable, "-m", "sagebox.jobs.runner", "--node-home", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_node_runner_log_reaches_the_client_through_the_lake(
    submitter: Session, tmp_path: Path
) -> None:
    home = submitter.settings.home
    gate = tmp_path / "gate"
    code = (
        "import os, pathlib, sys, time;"
        "print('node home', os.environ['SAGEBOX_HOME'], flush=True);"
        "print('first line', flush=True);"
        "print('to stderr', file=sys.stderr, flush=True);"
        f"g = pathlib.Path({str(gate)!r});"
        "exec('while not g.exists(): time.sleep(0.05)');"
        "print('second line', flush=True)"
    )
    name = "cluster-log-1"
    submitter.metadata.create_job(
        JobRecord(name=name, kind="command", parameters={"argv": [sys.executable, "-c", code]})
    )
    before = _listing(home)
    home.chmod(0o500)
    jobs = JobClient(submitter)
    runner = _start_node_runner(submitter, name)
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.extend(runner.stdout or []))
    reader.start()
    try:
        chunks: list[str] = []
        for chunk in jobs.follow(name):
            chunks.append(chunk)
            if "first line" in "".join(chunks) and not gate.exists():
                running_log = jobs.logs(name)  # from the lake while the job runs
                assert jobs.describe(name).status is JobStatus.IN_PROGRESS
                assert "first line" in running_log and "second line" not in running_log
                gate.write_text("go")
        assert runner.wait(timeout=60) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
        reader.join(timeout=30)
        home.chmod(0o700)
    job = jobs.describe(name)
    assert job.status is JobStatus.COMPLETED, job.failure_reason
    assert job.log_uri == submitter.storage.url(f"jobs/{name}/output.log")
    followed = "".join(chunks)
    assert followed == jobs.logs(name)  # follow yields each piece of text once
    for line in ("first line", "to stderr", "second line", f"job {name} ended: Completed"):
        assert followed.count(line) == 1, followed
        assert line in "".join(stdout)  # the runner's own stdout still gets everything
    node = followed.split("node home ", 1)[1].split()[0]
    assert not node.startswith(str(home)) and not Path(node).exists()
    assert _listing(home) == before  # the submitter's home was not touched


def test_a_later_node_runner_continues_the_log_in_the_lake(submitter: Session) -> None:
    name = "cluster-log-2"
    submitter.metadata.create_job(
        JobRecord(name=name, kind="command", parameters={"argv": ["echo", "from the first run"]})
    )
    assert _start_node_runner(submitter, name).wait(timeout=60) == 0
    assert _start_node_runner(submitter, name).wait(timeout=60) == 0  # ended: not run again
    log = JobClient(submitter).logs(name)
    assert log.index("from the first run") < log.index(f"job {name} is Completed; not starting")
