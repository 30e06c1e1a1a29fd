"""The job runner: ``python -m sagebox.jobs.runner JOB_NAME`` runs one job to its end.

It is what the compute backend starts. It waits for a free worker slot, marks the job
InProgress, calls the job kind's function, and records the outcome (Completed, Failed with the
reason, Stopped on SIGTERM, Failed with MaxRuntimeExceeded on timeout). The log it writes to
stdout is uploaded to the lake when it ends.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from sagebox.backends.metadata.base import JobStatus
from sagebox.config import make_private_dir
from sagebox.errors import SageboxError, redact
from sagebox.jobs.context import JobContext
from sagebox.jobs.kinds import job_kinds
from sagebox.names import check_resource_name
from sagebox.session import Session

_SLOT_POLL_SECONDS = 0.2


class JobInterrupted(BaseException):
    """Raised inside a job when it is stopped or runs out of time.

    A BaseException so that job code catching ``Exception`` does not swallow it.
    """

    def __init__(self, status: JobStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def run_job(name: str, session: Session | None = None) -> JobStatus:
    """Run job ``name`` in this process and record its outcome; return the final status."""
    session = session or Session()
    metadata = session.metadata
    job = metadata.get_job(name)
    max_runtime = job.parameters.get("max_runtime_seconds")
    _install_signal_handlers(max_runtime)
    status, reason = JobStatus.COMPLETED, None
    try:
        _wait_for_slot(session, name)
        job = metadata.update_job(
            name,
            status=JobStatus.IN_PROGRESS,
            started_at=job.started_at or datetime.now(UTC),
            handle=job.handle or f"local:{os.getpid()}",
        )
        workdir = make_private_dir(session.settings.jobs_dir / name / "work")
        print(f"job {name} ({job.kind}) started", flush=True)
        job_kinds.get(job.kind)(JobContext(job=job, session=session, workdir=workdir))
    except JobInterrupted as exc:
        status, reason = exc.status, exc.reason
        if status is JobStatus.STOPPED and _restart_pending(session, name):
            signal.alarm(0)
            print(f"job {name} interrupted (SIGTERM); it restarts when next observed", flush=True)
            _upload_log(session, name)
            return JobStatus.IN_PROGRESS
    except SageboxError as exc:
        status, reason = JobStatus.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure of job code ends the job as Failed
        print(redact(traceback.format_exc()), end="", file=sys.stderr, flush=True)
        status, reason = JobStatus.FAILED, redact(f"{type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
    print(f"job {name} ended: {status.value}" + (f" ({reason})" if reason else ""), flush=True)
    sys.stdout.flush()
    log_uri = _upload_log(session, name)
    metadata.update_job(
        name, status=status, failure_reason=reason, ended_at=datetime.now(UTC), log_uri=log_uri
    )
    return status


def _restart_pending(session: Session, name: str) -> bool:
    """Whether a SIGTERM came from elsewhere than ``jobs stop`` and the job may restart."""
    job = session.metadata.get_job(name)
    retries = int(job.parameters.get("max_retries", 0))
    return job.status is not JobStatus.STOPPING and job.restarts < retries


def local_log_path(session: Session, name: str) -> Path:
    """Where the local compute backend writes a job's combined output.

    Raises:
        InputDataError: if ``name`` is not a valid job name (it must not leave ``jobs_dir``).
    """
    return session.settings.jobs_dir / check_resource_name("job", name) / "output.log"


def _upload_log(session: Session, name: str) -> str | None:
    path = local_log_path(session, name)
    if not path.is_file():
        return None
    key = f"jobs/{name}/output.log"
    try:
        session.storage.upload(path, key)
    except SageboxError as exc:
        print(f"could not upload the log: {exc}", flush=True)
        return str(path)
    return session.storage.url(key)


def _wait_for_slot(session: Session, name: str) -> None:
    """Block while ``max_workers`` other jobs are InProgress (the local process-pool limit)."""
    limit = max(1, session.settings.max_workers)
    while True:
        running = session.metadata.list_jobs(status=JobStatus.IN_PROGRESS, limit=limit + 1)
        if len([j for j in running if j.name != name]) < limit:
            return
        time.sleep(_SLOT_POLL_SECONDS)


def _install_signal_handlers(max_runtime: float | None) -> None:
    def on_term(signum: int, frame: FrameType | None) -> None:
        raise JobInterrupted(JobStatus.STOPPED, "Stopped by request")

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise JobInterrupted(
            JobStatus.FAILED, f"MaxRuntimeExceeded: the job ran longer than {max_runtime} s"
        )

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if max_runtime:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(max_runtime))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the job named in argv; exit 0 if it completed, 1 otherwise."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sagebox.jobs.runner JOB_NAME", file=sys.stderr)
        return 2
    return 0 if run_job(args[0]) is JobStatus.COMPLETED else 1


if __name__ == "__main__":
    # Run the importable copy of this module, not ``__main__``: job code raises and catches
    # ``sagebox.jobs.runner.JobInterrupted``, which must be the class this loop catches.
    from sagebox.jobs import runner as _runner

    sys.exit(_runner.main())
