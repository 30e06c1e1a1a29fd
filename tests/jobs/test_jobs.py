"""Jobs run as real subprocesses on the local compute backend."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus, RuleEvaluationRecord
from sagebox.errors import ConfigError, InputDataError, JobError, NotFoundError
from sagebox.jobs import JobClient
from sagebox.session import Session


@pytest.fixture()
def jobs(sagebox_env: Path) -> JobClient:
    return JobClient(Session())


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_command_job_completes_with_logs(jobs: JobClient) -> None:
    job = jobs.submit("command", parameters={"argv": _python("print('hello from the job')")})
    assert job.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS)
    done = jobs.wait(job.name, timeout=60)
    assert done.status is JobStatus.COMPLETED
    assert done.started_at is not None and done.ended_at is not None
    assert done.log_uri and done.log_uri.endswith(f"jobs/{job.name}/output.log")
    assert "hello from the job" in jobs.logs(job.name)
    assert [j.name for j in jobs.list(kind="command")] == [job.name]


def test_failing_command_records_reason(jobs: JobClient) -> None:
    job = jobs.submit("command", parameters={"argv": _python("import sys; sys.exit(3)")})
    done = jobs.wait(job.name, timeout=60)
    assert done.status is JobStatus.FAILED
    assert "exited with status 3" in (done.failure_reason or "")


def test_timeout_fails_with_max_runtime_exceeded(jobs: JobClient) -> None:
    job = jobs.submit(
        "command",
        parameters={"argv": _python("import time; time.sleep(60)")},
        max_runtime_seconds=1.5,
    )
    done = jobs.wait(job.name, timeout=60)
    assert done.status is JobStatus.FAILED
    assert "MaxRuntimeExceeded" in (done.failure_reason or "")


def test_stop_a_running_job(jobs: JobClient, sagebox_env: Path) -> None:
    marker = sagebox_env.parent / "started"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    job = jobs.submit("command", parameters={"argv": _python(code)})
    _wait_for(marker.exists)
    stopped = jobs.stop(job.name, grace_seconds=5)
    assert stopped.status is JobStatus.STOPPED
    assert jobs.describe(job.name).status is JobStatus.STOPPED


def test_killed_runner_is_noticed_as_failed(jobs: JobClient, sagebox_env: Path) -> None:
    marker = sagebox_env.parent / "started"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    job = jobs.submit("command", parameters={"argv": _python(code)})
    _wait_for(marker.exists)
    metadata = jobs.session.metadata
    for rule, status in (("Overfit", "InProgress"), ("ExplodingTensor", "IssuesFound")):
        metadata.put_rule_evaluation(RuleEvaluationRecord(job.name, rule, status=status))
    pid = int(jobs.describe(job.name).handle.split(":")[1])  # type: ignore[union-attr]
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: jobs.describe(job.name).status.is_terminal)
    job = jobs.describe(job.name)
    assert job.status is JobStatus.FAILED
    assert "without reporting" in (job.failure_reason or "")
    rules = {r.rule_name: r for r in metadata.list_rule_evaluations(job.name)}
    assert rules["Overfit"].status == "Error" and "died" in (rules["Overfit"].message or "")
    assert rules["ExplodingTensor"].status == "IssuesFound"  # a finding stays as it was


def test_wait_timeout_is_a_job_error(jobs: JobClient) -> None:
    job = jobs.submit("command", parameters={"argv": _python("import time; time.sleep(30)")})
    with pytest.raises(JobError, match="still"):
        jobs.wait(job.name, timeout=0.3)
    jobs.stop(job.name, grace_seconds=2)


def test_bad_submissions(jobs: JobClient) -> None:
    with pytest.raises(ConfigError, match="unknown job kind"):
        jobs.submit("no-such-kind")
    with pytest.raises(InputDataError, match="max_runtime_seconds"):
        jobs.submit("command", parameters={"argv": ["true"]}, max_runtime_seconds=0)
    with pytest.raises(NotFoundError):
        jobs.describe("no-such-job")


def test_jobs_survive_the_submitting_session(sagebox_env: Path) -> None:
    first = JobClient(Session())
    job = first.submit("command", parameters={"argv": _python("print(42)")})
    del first
    later = JobClient(Session())
    assert later.wait(job.name, timeout=60).status is JobStatus.COMPLETED
    assert "42" in later.logs(job.name)
