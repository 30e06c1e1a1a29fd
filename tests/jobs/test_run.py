"""``JobClient.run``: submit, (follow,) wait, and raise unless the job completed."""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import JobError
from sagebox.jobs import JobClient
from sagebox.session import Session


@pytest.fixture()
def jobs(sagebox_env: Path) -> JobClient:
    return JobClient(Session())


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_run_returns_the_completed_job(jobs: JobClient, capsys: pytest.CaptureFixture[str]) -> None:
    job = jobs.run("command", parameters={"argv": _python("print('quiet job')")})
    assert job.status is JobStatus.COMPLETED
    assert job.kind == "command" and job.ended_at is not None
    assert "quiet job" in jobs.logs(job.name)
    assert "quiet job" not in capsys.readouterr().out  # no follow: nothing printed


def test_run_raises_a_job_error_naming_the_job_and_its_log(jobs: JobClient) -> None:
    with pytest.raises(JobError) as info:
        jobs.run(
            "command", parameters={"argv": _python("import sys; sys.exit(3)")}, name="broken-1"
        )
    err = info.value
    assert err.message.startswith("command job broken-1 ended Failed: ")
    assert "exited with status 3" in err.message
    assert err.hint == "read its log: sagebox jobs logs broken-1"
    assert jobs.describe("broken-1").status is JobStatus.FAILED


def test_run_follow_streams_the_log(jobs: JobClient) -> None:
    out = io.StringIO()
    code = "import time\nfor i in range(3):\n    print('line', i, flush=True); time.sleep(0.2)"
    job = jobs.run("command", parameters={"argv": _python(code)}, follow=True, out=out)
    assert job.status is JobStatus.COMPLETED
    text = out.getvalue()
    assert "line 0\nline 1\nline 2\n" in text
    assert text == jobs.logs(job.name)  # the whole log, once


def test_run_follow_writes_to_stdout_by_default(
    jobs: JobClient, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs.run("command", parameters={"argv": _python("print('to stdout')")}, follow=True)
    assert "to stdout" in capsys.readouterr().out


def test_run_follow_of_a_failing_job_streams_then_raises(jobs: JobClient) -> None:
    out = io.StringIO()
    code = "import sys; print('about to fail', flush=True); sys.exit(2)"
    with pytest.raises(JobError, match="ended Failed"):
        jobs.run("command", parameters={"argv": _python(code)}, follow=True, out=out)
    assert "about to fail" in out.getvalue()


def test_run_of_a_stopped_job_raises(jobs: JobClient, sagebox_env: Path) -> None:
    marker = sagebox_env.parent / "started"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"

    def stop_when_started() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        JobClient(Session()).stop("stopped-1", grace_seconds=5)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    try:
        with pytest.raises(JobError) as info:
            jobs.run(
                "command",
                parameters={"argv": _python(code)},
                name="stopped-1",
                follow=True,
                out=io.StringIO(),
            )
    finally:
        stopper.join()
    assert info.value.message.startswith("command job stopped-1 ended Stopped")
    assert jobs.describe("stopped-1").status is JobStatus.STOPPED


def test_wait_completed_finishes_a_job_submitted_earlier(jobs: JobClient) -> None:
    job = jobs.submit("command", parameters={"argv": _python("print('later')")})
    out = io.StringIO()
    done = jobs.wait_completed(job.name, follow=True, out=out)
    assert done.status is JobStatus.COMPLETED
    assert "later" in out.getvalue()
