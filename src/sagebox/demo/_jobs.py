"""The demo's jobs: submit one, wait for it, fail loudly."""

from __future__ import annotations

from typing import Any

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.errors import JobError
from sagebox.jobs import JobClient

__all__ = ["run_job"]


def run_job(
    jobs: JobClient, kind: str, parameters: dict[str, Any], inputs: dict[str, str]
) -> JobRecord:
    """Submit a ``kind`` job, wait for it and return its record.

    Raises:
        JobError: naming the job and how to read its log, if it did not complete.
    """
    job = jobs.wait(jobs.submit(kind, parameters=parameters, inputs=inputs).name)
    if job.status is not JobStatus.COMPLETED:
        raise JobError(
            f"{kind} job {job.name} ended {job.status.value}: {job.failure_reason}",
            hint=f"read its log: sagebox jobs logs {job.name}",
        )
    return job
