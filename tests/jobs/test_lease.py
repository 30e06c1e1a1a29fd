"""Killed job runners never wedge the scheduler (issue 15, defect 2).

Runners claim a worker slot atomically and hold a lease that a heartbeat renews; a runner killed
with SIGKILL is noticed when its lease expires by whoever looks next (``describe``, ``list``, or
another runner waiting for a slot), its job is marked Failed and its slot comes free; the
processes it started die with it; a queued job's ``max_runtime_seconds`` counts from its start.
Real runner processes on the local compute backend, short leases through the environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.jobs import JobClient
from sagebox.session import Session

LEASE_SECONDS = 4.0
HEARTBEAT_SECONDS = 0.25


@pytest.fixture()
def jobs(sagebox_env: Path, monkeypatch: pytest.MonkeyPatch) -> JobClient:
    monkeypatch.setenv("SAGEBOX_JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    monkeypatch.setenv("SAGEBOX_JOB_HEARTBEAT_SECONDS", str(HEARTBEAT_SECONDS))
    monkeypatch.setenv("SAGEBOX_MAX_WORKERS", "2")
    return JobClient(Session())


def _wait_for(predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, ended but not reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


# A job whose command starts a grandchild, writes both pids to a marker file, and sleeps.
_FAMILY = (
    "import os, pathlib, subprocess, sys, time\n"
    "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "marker = pathlib.Path(sys.argv[1])\n"
    "marker.with_suffix('.tmp').write_text(f'{os.getpid()} {grandchild.pid}')\n"
    "marker.with_suffix('.tmp').rename(marker)\n"
    "time.sleep(120)\n"
)


# A job that runs until the file named by its argument exists.
_HOLD = (
    "import pathlib, sys, time\nwhile not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.05)\n"
)


def _start_family_job(jobs: JobClient, marker: Path) -> tuple[JobRecord, int, list[int]]:
    """Submit a long job; return it once started, with its runner pid and its workers' pids."""
    job = jobs.submit("command", parameters={"argv": [sys.executable, "-c", _FAMILY, str(marker)]})
    _wait_for(marker.exists, f"job {job.name} starts its processes")
    workers = [int(p) for p in marker.read_text().split()]
    job = jobs.session.metadata.get_job(job.name)
    assert job.status is JobStatus.IN_PROGRESS and job.slot is not None
    assert job.handle is not None
    return job, int(job.handle.split(":")[1]), workers


def _kill_runner(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)  # the runner only: not its process group
    _wait_for(lambda: not _running(pid), f"runner {pid} dies")


def _assert_lost(job: JobRecord) -> None:
    assert job.status is JobStatus.FAILED, job
    reason = job.failure_reason or ""
    assert "lease expired" in reason and str(job.lease_owner) in reason, reason
    assert job.slot is None


def test_killed_runners_free_their_slots_for_later_jobs(jobs: JobClient, tmp_path: Path) -> None:
    """Two slots, both runners killed with -9: two later jobs still get the slots.

    Nobody describes or lists the killed jobs: the later jobs' slot waits end them.
    """
    first, first_runner, first_workers = _start_family_job(jobs, tmp_path / "first")
    second, second_runner, second_workers = _start_family_job(jobs, tmp_path / "second")
    assert {first.slot, second.slot} == {0, 1}
    _kill_runner(first_runner)
    _kill_runner(second_runner)
    release = tmp_path / "release"
    later = [
        jobs.submit("command", parameters={"argv": [sys.executable, "-c", _HOLD, str(release)]})
        for _ in range(2)
    ]
    metadata = jobs.session.metadata
    _wait_for(
        lambda: all(metadata.get_job(j.name).status is JobStatus.IN_PROGRESS for j in later),
        "both later jobs hold a slot",
        timeout=120,
    )
    for job in (first, second):
        _assert_lost(metadata.get_job(job.name))
    assert {metadata.get_job(j.name).slot for j in later} == {0, 1}
    release.touch()
    for job in later:
        done = jobs.wait(job.name, timeout=60)
        assert done.status is JobStatus.COMPLETED, done.failure_reason
    for pid in first_workers + second_workers:  # the command and the process it started
        _wait_for(lambda pid=pid: not _running(pid), f"worker {pid} of a killed runner ends")


def test_killed_runner_is_noticed_by_list(jobs: JobClient, tmp_path: Path) -> None:
    job, runner, workers = _start_family_job(jobs, tmp_path / "job")
    _kill_runner(runner)
    _wait_for(lambda: not _running(workers[0]), "the command dies with its runner")

    def listed() -> JobRecord:
        return next(j for j in jobs.list() if j.name == job.name)

    _wait_for(lambda: listed().status.is_terminal, "jobs list notices the lost runner")
    _assert_lost(listed())
    _wait_for(lambda: not _running(workers[1]), "the command's own child ends")


def test_killed_runner_is_noticed_by_the_cli_jobs_list(jobs: JobClient, tmp_path: Path) -> None:
    job, runner, _ = _start_family_job(jobs, tmp_path / "job")
    _kill_runner(runner)

    def cli_status() -> str:
        out = subprocess.run(
            [sys.executable, "-m", "sagebox", "jobs", "list", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        import json

        return str(next(j for j in json.loads(out) if j["name"] == job.name)["status"])

    _wait_for(lambda: cli_status() == "Failed", "`sagebox jobs list` notices the lost runner")
    _assert_lost(jobs.session.metadata.get_job(job.name))


def test_lost_runner_is_noticed_by_describe_without_its_pid(
    jobs: JobClient, tmp_path: Path
) -> None:
    """The lease works where the compute backend cannot see the runner (another machine)."""
    job, runner, _ = _start_family_job(jobs, tmp_path / "job")
    # a live process stands in for a runner the local backend cannot check
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    try:
        metadata = jobs.session.metadata
        metadata.update_job(job.name, handle=f"local:{stand_in.pid}")
        _kill_runner(runner)
        assert jobs.describe(job.name).status is JobStatus.IN_PROGRESS  # lease not yet expired
        _wait_for(lambda: jobs.describe(job.name).status.is_terminal, "describe notices")
        _assert_lost(jobs.describe(job.name))
        assert stand_in.poll() is None  # a process that still runs is never killed for it
    finally:
        stand_in.kill()
        stand_in.wait()


_EXCLUSIVE = (
    "import os, pathlib, sys, time\n"
    "lock, overlap = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
    "try:\n"
    "    os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n"
    "except FileExistsError:\n"
    "    overlap.write_text(sys.argv[3])\n"
    "    sys.exit(0)\n"
    "time.sleep(0.3)\n"
    "lock.unlink()\n"
)


def test_runners_racing_for_the_last_slot_never_both_run(
    jobs: JobClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEBOX_MAX_WORKERS", "1")
    jobs = JobClient(Session())
    lock, overlap = tmp_path / "running", tmp_path / "overlap"
    tries = 8
    for attempt in range(tries):
        names = []
        for side in ("a", "b"):
            argv = [sys.executable, "-c", _EXCLUSIVE, str(lock), str(overlap), f"{attempt}{side}"]
            names.append(jobs.submit("command", parameters={"argv": argv}).name)
        for name in names:
            assert jobs.wait(name, timeout=120).status is JobStatus.COMPLETED
        assert not overlap.exists(), f"two jobs ran at once in one slot: {overlap.read_text()}"


def test_queued_job_max_runtime_counts_from_its_start(
    jobs: JobClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEBOX_MAX_WORKERS", "1")
    jobs = JobClient(Session())
    release = tmp_path / "release"
    holder = jobs.submit(
        "command", parameters={"argv": [sys.executable, "-c", _HOLD, str(release)]}
    )
    _wait_for(lambda: jobs.describe(holder.name).status is JobStatus.IN_PROGRESS, "holder runs")
    queued = jobs.submit(
        "command",
        parameters={"argv": [sys.executable, "-c", "print('queued job ran')"]},
        max_runtime_seconds=1.0,
    )
    # the queued job waits for the slot well past its max runtime without failing
    waited_until = time.monotonic() + 3.0
    while time.monotonic() < waited_until:
        assert jobs.describe(queued.name).status is JobStatus.PENDING
        time.sleep(0.1)
    release.touch()
    assert jobs.wait(holder.name, timeout=60).status is JobStatus.COMPLETED
    done = jobs.wait(queued.name, timeout=60)
    assert done.status is JobStatus.COMPLETED, done.failure_reason
    assert "queued job ran" in jobs.logs(queued.name)


def test_max_runtime_still_ends_a_started_job(jobs: JobClient) -> None:
    job = jobs.submit(
        "command",
        parameters={"argv": [sys.executable, "-c", "import time; time.sleep(60)"]},
        max_runtime_seconds=1.5,
    )
    done = jobs.wait(job.name, timeout=60)
    assert done.status is JobStatus.FAILED
    assert "MaxRuntimeExceeded" in (done.failure_reason or "")
    assert done.slot is None


def test_lease_settings_are_checked() -> None:
    from sagebox.config import load_settings
    from sagebox.errors import ConfigError

    base = {"SAGEBOX_HOME": "/tmp/sagebox-lease-settings"}
    settings = load_settings(env=base, toml_path=None)
    assert (settings.job_lease_seconds, settings.job_heartbeat_seconds) == (30.0, 5.0)
    with pytest.raises(ConfigError, match="job_heartbeat_seconds.*below job_lease_seconds"):
        load_settings(env={**base, "SAGEBOX_JOB_HEARTBEAT_SECONDS": "30"}, toml_path=None)
    with pytest.raises(ConfigError, match="job_lease_seconds"):
        load_settings(env={**base, "SAGEBOX_JOB_LEASE_SECONDS": "0"}, toml_path=None)
