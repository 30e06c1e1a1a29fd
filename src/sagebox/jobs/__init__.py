"""Jobs: records in the metadata store that run on the compute backend and outlive the CLI."""

from __future__ import annotations

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.jobs.client import JobClient
from sagebox.jobs.context import JobContext
from sagebox.jobs.kinds import job_kinds

__all__ = ["JobClient", "JobContext", "JobRecord", "JobStatus", "job_kinds"]
