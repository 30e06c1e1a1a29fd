"""Submit, describe, list, stop and wait on jobs."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sagebox.backends.compute.base import TaskSpec, TaskState
from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.errors import InputDataError, JobError, NotFoundError
from sagebox.jobs.kinds import job_kinds
from sagebox.jobs.runner import local_log_path
from sagebox.session import Session

__all__ = ["JobClient", "new_job_name"]

_POLL_SECONDS = 0.1


def new_job_name(kind: str) -> str:
    """A unique, sortable job name such as ``training-20261127-174401-3fa2``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{stamp}-{secrets.token_hex(2)}"


class JobClient:
    """The jobs API of one session.

    Example:
        >>> jobs = JobClient(Session())
        >>> job = jobs.submit("command", parameters={"argv": ["echo", "hello"]})
        >>> jobs.wait(job.name).status
        <JobStatus.COMPLETED: 'Completed'>
        >>> jobs.logs(job.name)
        'job command-... started\\nhello\\n...'
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or Session()

    def submit(
        self,
        kind: str,
        parameters: dict[str, Any] | None = None,
        inputs: dict[str, str] | None = None,
        name: str | None = None,
        max_runtime_seconds: float | None = None,
    ) -> JobRecord:
        """Record a job and start it on the compute backend; return at once.

        Raises:
            ConfigError: if ``kind`` is unknown.
            AlreadyExistsError: if ``name`` is taken.
        """
        job_kinds.get(kind)  # fail now, not in the subprocess, on an unknown kind
        params = dict(parameters or {})
        if max_runtime_seconds is not None:
            if max_runtime_seconds <= 0:
                raise InputDataError(
                    f"max_runtime_seconds must be positive, got {max_runtime_seconds}",
                    hint="give a number of seconds > 0",
                )
            params["max_runtime_seconds"] = max_runtime_seconds
        job = JobRecord(
            name=name or new_job_name(kind), kind=kind, parameters=params, inputs=dict(inputs or {})
        )
        metadata = self.session.metadata
        metadata.create_job(job)
        env = {f"SAGEBOX_{k.upper()}": str(v) for k, v in self._settings_env().items()}
        spec = TaskSpec(
            argv=[sys.executable, "-m", "sagebox.jobs.runner", job.name],
            log_path=local_log_path(self.session, job.name),
            env=env,
        )
        try:
            handle = self.session.compute.submit(spec)
        except BaseException as exc:
            metadata.update_job(
                job.name,
                status=JobStatus.FAILED,
                failure_reason=str(exc),
                ended_at=datetime.now(UTC),
            )
            raise
        return metadata.update_job(job.name, handle=handle)

    def describe(self, name: str) -> JobRecord:
        """Return the job, first noticing a job process that died without reporting."""
        job = self.session.metadata.get_job(name)
        if job.status.is_terminal or job.handle is None:
            return job
        if self.session.compute.state(job.handle) is TaskState.EXITED:
            job = self.session.metadata.get_job(name)  # it may have reported just now
            if not job.status.is_terminal:
                job = self.session.metadata.update_job(
                    name,
                    status=JobStatus.FAILED,
                    failure_reason="the job process exited without reporting (killed?)",
                    ended_at=datetime.now(UTC),
                )
        return job

    def list(
        self, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> list[JobRecord]:
        """Jobs, newest first."""
        return self.session.metadata.list_jobs(kind=kind, status=status, limit=limit)

    def wait(self, name: str, timeout: float | None = None) -> JobRecord:
        """Block until the job ends; return its final record.

        Raises:
            JobError: if ``timeout`` seconds pass first (the job keeps running).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.describe(name)
            if job.status.is_terminal:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise JobError(
                    f"job {name} is still {job.status.value} after {timeout} s",
                    hint="wait longer or stop it with `sagebox jobs stop`",
                )
            time.sleep(_POLL_SECONDS)

    def stop(self, name: str, grace_seconds: float = 10.0) -> JobRecord:
        """Stop a running job (SIGTERM, then SIGKILL after the grace period)."""
        job = self.describe(name)
        if job.status.is_terminal:
            return job
        if job.handle is not None:
            self.session.metadata.update_job(name, status=JobStatus.STOPPING)
            self.session.compute.stop(job.handle, grace_seconds=grace_seconds)
        job = self.session.metadata.get_job(name)
        if not job.status.is_terminal:  # killed before it could report
            job = self.session.metadata.update_job(
                name,
                status=JobStatus.STOPPED,
                failure_reason="Stopped by request",
                ended_at=datetime.now(UTC),
            )
        return job

    def logs(self, name: str) -> str:
        """The job's combined output so far (local file while running, else from the lake)."""
        job = self.session.metadata.get_job(name)
        path = local_log_path(self.session, name)
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
        if job.log_uri:
            key = self.session.key_for(job.log_uri)
            return self.session.storage.read_bytes(key).decode("utf-8", errors="replace")
        raise NotFoundError(f"job {name} has no log yet", hint="it may not have started")

    def follow(self, name: str) -> Iterator[str]:
        """Yield log text as it is written until the job ends."""
        path = local_log_path(self.session, name)
        offset = 0
        while True:
            job = self.describe(name)
            if path.is_file():
                with open(path, encoding="utf-8", errors="replace") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                    offset = fh.tell()
                if chunk:
                    yield chunk
            if job.status.is_terminal:
                return
            time.sleep(_POLL_SECONDS)

    def _settings_env(self) -> dict[str, Any]:
        settings = self.session.settings
        values = settings.model_dump()
        return {k: v for k, v in values.items() if v is not None}
