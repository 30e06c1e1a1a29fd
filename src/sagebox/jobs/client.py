"""Submit, describe, list, stop and wait on jobs."""

from __future__ import annotations

import codecs
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sagebox.backends.compute.base import Resources, TaskSpec, TaskState
from sagebox.backends.metadata.base import JobRecord, JobStatus, MetricPoint
from sagebox.errors import InputDataError, JobError, NotFoundError, SageboxError
from sagebox.jobs.cluster import (
    NODE_HOME_FLAG,
    ONLINE_STORE_KINDS,
    check_cluster_settings,
    node_log_path,
    task_env,
)
from sagebox.jobs.context import lake_log_key, local_log_path
from sagebox.jobs.kinds import job_kinds
from sagebox.names import check_resource_name, sanitize_name_prefix
from sagebox.session import Session

__all__ = ["JobClient", "new_job_name"]

_POLL_SECONDS = 0.1
#: how often :meth:`JobClient.follow` reads a log kept in the lake (at most)
_LAKE_LOG_POLL_SECONDS = 1.0


def _log_path(session: Session, name: str) -> Path:
    return local_log_path(session, name)


def _lease_expired_reason(job: JobRecord) -> str:
    when = job.lease_expires_at.strftime("%Y-%m-%d %H:%M:%S UTC") if job.lease_expires_at else "?"
    return (
        f"the job runner {job.lease_owner} was lost: its lease expired at {when} without "
        "renewal (killed, or its machine stopped)"
    )


def _runs_here(job: JobRecord) -> bool:
    """Whether the job's runner is (or will be) a process of this machine, writing its log here.

    A runner on a cluster has a handle of another backend; its log is read from the lake.
    """
    return job.handle is None or job.handle.startswith("local:")


def new_job_name(kind: str) -> str:
    """A unique, sortable job name such as ``training-20261127-174401-3fa2``.

    ``kind`` (a job kind or a base job name) is made to fit the resource-name rule first:
    other characters become ``-`` and it is cut to 42 characters, so the name stays <= 63.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{sanitize_name_prefix(kind)}-{stamp}-{secrets.token_hex(2)}"


class JobClient:
    """The jobs API of one session.

    Example:
        >>> jobs = JobClient(Session())
        >>> job = jobs.submit("command", parameters={"argv": ["echo", "hello"]})
        >>> jobs.wait(job.name).status
        <JobStatus.COMPLETED: 'Completed'>
        >>> jobs.logs(job.name)
        'job command-... started\\nhello\\n...'
        >>> jobs.run("command", parameters={"argv": ["echo", "hi"]}).status  # or JobError
        <JobStatus.COMPLETED: 'Completed'>
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
        max_retries: int = 0,
    ) -> JobRecord:
        """Record a job and start it on the compute backend; return at once.

        Args:
            kind: the job kind (``training``, ``command``, ...).
            parameters: the kind's parameters.
            inputs: input channels (lake keys or URIs).
            name: the job name (default: ``<kind>-<timestamp>-<random>``).
            max_runtime_seconds: fail the job (MaxRuntimeExceeded) after this long.
            max_retries: restart the job process this many times at most when it is killed
                (SIGKILL, or SIGTERM not sent by :meth:`stop`); a training job resumes from
                its last checkpoint. The restart happens when the job is next observed
                (:meth:`describe`, :meth:`wait`, :meth:`follow`).

        Raises:
            ConfigError: if ``kind`` is unknown, or the compute backend is a cluster and the
                lake, the metadata store (or the online store the kind needs) is local to
                this machine (:func:`~sagebox.jobs.cluster.check_cluster_settings`).
            AlreadyExistsError: if ``name`` is taken.
            InputDataError: if ``name`` breaks the resource-name rule (:mod:`sagebox.names`)
                or a limit is out of range.
        """
        if name is not None:
            check_resource_name("job", name)
        job_kinds.get(kind)  # fail now, not in the subprocess, on an unknown kind
        if not self.session.compute.shares_filesystem:
            check_cluster_settings(self.session.settings, online_store=kind in ONLINE_STORE_KINDS)
        params = dict(parameters or {})
        if max_runtime_seconds is not None:
            if max_runtime_seconds <= 0:
                raise InputDataError(
                    f"max_runtime_seconds must be positive, got {max_runtime_seconds}",
                    hint="give a number of seconds > 0",
                )
            params["max_runtime_seconds"] = max_runtime_seconds
        if max_retries < 0:
            raise InputDataError(
                f"max_retries must be >= 0, got {max_retries}", hint="give 0 or more restarts"
            )
        if max_retries:
            params["max_retries"] = int(max_retries)
        job = JobRecord(
            name=name or new_job_name(kind), kind=kind, parameters=params, inputs=dict(inputs or {})
        )
        metadata = self.session.metadata
        metadata.create_job(job)
        try:
            handle = self._start_runner(job.name)
        except BaseException as exc:
            metadata.update_job(
                job.name,
                status=JobStatus.FAILED,
                failure_reason=str(exc),
                ended_at=datetime.now(UTC),
            )
            raise
        return metadata.update_job(job.name, handle=handle)

    def run(
        self,
        kind: str,
        parameters: dict[str, Any] | None = None,
        inputs: dict[str, str] | None = None,
        name: str | None = None,
        max_runtime_seconds: float | None = None,
        max_retries: int = 0,
        *,
        follow: bool = False,
        out: TextIO | None = None,
    ) -> JobRecord:
        """Submit a job, wait for it to end and return its record; raise unless it completed.

        The arguments before ``follow`` are those of :meth:`submit`.

        Args:
            kind: the job kind (``training``, ``command``, ...).
            parameters: the kind's parameters.
            inputs: input channels (lake keys or URIs).
            name: the job name (default: ``<kind>-<timestamp>-<random>``).
            max_runtime_seconds: fail the job (MaxRuntimeExceeded) after this long.
            max_retries: restarts of a killed job process at most.
            follow: write the job's log to ``out`` as it is written.
            out: where ``follow`` writes (default: ``sys.stdout`` at call time).

        Raises:
            ConfigError: if ``kind`` is unknown.
            AlreadyExistsError: if ``name`` is taken.
            InputDataError: if a limit is out of range.
            JobError: if the job ended Failed or Stopped (naming the job and how to read its
                log).
        """
        job = self.submit(
            kind,
            parameters=parameters,
            inputs=inputs,
            name=name,
            max_runtime_seconds=max_runtime_seconds,
            max_retries=max_retries,
        )
        return self.wait_completed(job.name, follow=follow, out=out)

    def wait_completed(
        self, name: str, *, follow: bool = False, out: TextIO | None = None
    ) -> JobRecord:
        """Wait for a submitted job (optionally streaming its log); raise unless it completed.

        The second half of :meth:`run`, for a job submitted earlier (``fit(wait=False)``).

        Args:
            name: the job.
            follow: write the job's log to ``out`` as it is written.
            out: where ``follow`` writes (default: ``sys.stdout`` at call time).

        Raises:
            NotFoundError: if there is no such job.
            JobError: if the job ended Failed or Stopped.
        """
        if follow:
            stream = out or sys.stdout
            for chunk in self.follow(name):
                stream.write(chunk)
                stream.flush()
        job = self.wait(name)
        if job.status is not JobStatus.COMPLETED:
            raise JobError(
                f"{job.kind} job {name} ended {job.status.value}: {job.failure_reason}",
                hint=f"read its log: sagebox jobs logs {name}",
            )
        return job

    def _start_runner(self, name: str) -> str:
        """Submit the job's runner: a coordinator asking for no CPU of its own.

        On a cluster it gets the settings but not ``SAGEBOX_HOME`` and makes its own
        node-local home (``--node-home``); its log reaches the lake while it runs.
        """
        compute = self.session.compute
        shared = compute.shares_filesystem
        spec = TaskSpec(
            argv=[
                sys.executable,
                "-m",
                "sagebox.jobs.runner",
                *([] if shared else [NODE_HOME_FLAG]),
                name,
            ],
            # on a cluster the backend may keep a copy of the output on the node that runs
            # the runner: a file of that node's temp dir, never the submitter's home
            log_path=_log_path(self.session, name) if shared else node_log_path(name),
            env=task_env(self.session.settings, shares_filesystem=shared),
            resources=Resources(cpus=0),
        )
        return compute.submit(spec)

    def describe(self, name: str) -> JobRecord:
        """Return the job, first noticing a job runner that died without reporting.

        A runner is lost when its lease in the metadata store expired (it stopped renewing it
        for ``job_lease_seconds``: killed, or its machine stopped), or, on the local compute
        backend, as soon as its process is seen to have exited. Such a job is restarted if it
        has restarts left (``max_retries``), else marked Failed with a reason naming the
        runner; what is left of the runner's processes is stopped.
        """
        job = self.session.metadata.get_job(name)
        if job.status.is_terminal:
            return job
        if job.lease_expires_at is not None and job.lease_expires_at < datetime.now(UTC):
            return self._lost(job, _lease_expired_reason(job))
        if job.handle is not None and self.session.compute.state(job.handle) is TaskState.EXITED:
            job = self.session.metadata.get_job(name)  # it may have reported just now
            if not job.status.is_terminal:
                return self._lost(
                    job, f"the job process {job.handle} exited without reporting (killed?)"
                )
        return job

    def reap_lost_jobs(self) -> list[JobRecord]:
        """End (or restart, with ``max_retries`` left) every job whose runner lost its lease.

        Called by :meth:`list`, :meth:`describe` (for its job) and by every runner waiting for
        a worker slot, so that a killed runner's slot comes free. Returns the jobs it handled.
        """
        return [
            self._lost(job, _lease_expired_reason(job))
            for job in self.session.metadata.list_expired_jobs()
        ]

    def _lost(self, job: JobRecord, reason: str) -> JobRecord:
        """Restart ``job`` (restarts left) or end it, after its runner was lost."""
        metadata = self.session.metadata
        self._stop_leftovers(job)
        retries = int(job.parameters.get("max_retries", 0))
        if job.status is not JobStatus.STOPPING and job.restarts < retries:
            return self._restart(job, retries)
        status = JobStatus.STOPPED if job.status is JobStatus.STOPPING else JobStatus.FAILED
        seen = {
            "status": job.status,
            "lease_owner": job.lease_owner,
            "lease_expires_at": job.lease_expires_at,
        }
        ended = metadata.update_job_if(
            job.name, seen, status=status, failure_reason=reason, ended_at=datetime.now(UTC)
        )
        if ended is None:  # it reported, renewed its lease, or another observer was first
            return metadata.get_job(job.name)
        self._end_watching_rules(job.name)
        return ended

    def _stop_leftovers(self, job: JobRecord) -> None:
        """Stop what is left of a dead runner's task (its process group on the local backend).

        Only a task that the backend sees as ended: a runner that still runs (hung, or its pid
        taken by another process) is left alone; a hung one stops itself once it sees that its
        lease is gone.
        """
        if job.handle is None:
            return
        compute = self.session.compute
        try:
            if compute.state(job.handle) is TaskState.EXITED:
                compute.stop(job.handle, grace_seconds=2)
        except SageboxError:
            return  # a handle of another backend or machine: nothing to stop from here

    def _end_watching_rules(self, name: str) -> None:
        """Mark the rules still InProgress on a job whose process died as Error."""
        from dataclasses import replace

        metadata = self.session.metadata
        for record in metadata.list_rule_evaluations(name):
            if record.status == "InProgress":
                metadata.put_rule_evaluation(
                    replace(
                        record,
                        status="Error",
                        message="the job process died before the rule could finish",
                        updated_at=datetime.now(UTC),
                    )
                )

    def _restart(self, job: JobRecord, retries: int) -> JobRecord:
        """Start a new process for ``job`` unless another observer already did.

        The job's lease is renewed for the new runner (it must claim the job within a lease),
        so that observers do not take the restarting job for lost again.
        """
        metadata = self.session.metadata
        lease = timedelta(seconds=self.session.settings.job_lease_seconds)
        claimed = metadata.update_job_if(
            job.name,
            {"handle": job.handle, "restarts": job.restarts},
            restarts=job.restarts + 1,
            handle=None,
            lease_expires_at=datetime.now(UTC) + lease,
        )
        if claimed is None:
            return metadata.get_job(job.name)
        self._append_log(
            job.name,
            f"job process {job.handle} ended without reporting; restarting it "
            f"(restart {claimed.restarts} of {retries})\n",
        )
        try:
            handle = self._start_runner(job.name)
        except BaseException as exc:
            metadata.update_job(
                job.name,
                status=JobStatus.FAILED,
                failure_reason=f"restart failed: {exc}",
                ended_at=datetime.now(UTC),
            )
            raise
        return metadata.update_job(job.name, handle=handle)

    def metrics(self, name: str, metric: str | None = None) -> list[MetricPoint]:
        """The job's metric time series (optionally of one metric), in recording order.

        Raises:
            NotFoundError: if there is no such job.
        """
        self.session.metadata.get_job(name)
        return self.session.metadata.list_metric_points(name, metric)

    def list(
        self, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> list[JobRecord]:
        """Jobs, newest first, after noticing lost runners.

        Jobs whose runner lost its lease are first ended or restarted; a listed job still
        queued (no lease yet) is checked as :meth:`describe` does (its runner may have died
        before it claimed a slot).
        """
        self.reap_lost_jobs()
        jobs = self.session.metadata.list_jobs(kind=kind, status=status, limit=limit)
        checked = [
            self.describe(j.name)
            if not j.status.is_terminal and j.lease_expires_at is None and j.handle
            else j
            for j in jobs
        ]
        return [j for j in checked if status is None or j.status is status]

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

    def _append_log(self, name: str, text: str) -> None:
        """Add a line of the client's own to the job log, where the next runner continues it.

        The local log file when tasks share this machine's files; else the lake's copy (a
        runner on a cluster starts from it).
        """
        if self.session.compute.shares_filesystem:
            log = _log_path(self.session, name)
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(text)
            return
        key = lake_log_key(name)
        storage = self.session.storage
        try:
            old = storage.read_bytes(key)
        except NotFoundError:
            old = b""
        storage.write_bytes(key, old + text.encode("utf-8"))

    def _lake_log(self, job: JobRecord) -> bytes | None:
        """The job's log as last uploaded to the lake (None if there is none yet)."""
        key = lake_log_key(job.name)
        if job.log_uri and "://" in job.log_uri:
            key = self.session.key_for(job.log_uri)
        try:
            return self.session.storage.read_bytes(key)
        except NotFoundError:
            return None

    def logs(self, name: str) -> str:
        """The job's combined output so far.

        The local log file when the runner runs on this machine; else the copy in the lake
        (on a cluster, uploaded every ``log_upload_seconds`` while the job runs).

        Raises:
            NotFoundError: if there is no such job, or it has no log yet.
        """
        check_resource_name("job", name)  # before the name becomes a path
        job = self.session.metadata.get_job(name)
        path = _log_path(self.session, name)
        if _runs_here(job) and path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
        data = self._lake_log(job)
        if data is None:
            raise NotFoundError(f"job {name} has no log yet", hint="it may not have started")
        return data.decode("utf-8", errors="replace")

    def follow(self, name: str) -> Iterator[str]:
        """Yield log text as it is written until the job ends (only text not yet yielded).

        Reads the local log file while there is one, else the lake's copy (at most once a
        second, and once more when the job has ended).
        """
        check_resource_name("job", name)
        path = _log_path(self.session, name)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        offset = 0
        next_lake_read = 0.0
        while True:
            job = self.describe(name)
            data: bytes | None = None
            if _runs_here(job) and path.is_file():
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    data = fh.read()
                offset += len(data)
            elif job.status.is_terminal or time.monotonic() >= next_lake_read:
                next_lake_read = time.monotonic() + _LAKE_LOG_POLL_SECONDS
                whole = self._lake_log(job) or b""
                data = whole[offset:]
                offset = max(offset, len(whole))
            chunk = decoder.decode(data or b"", final=job.status.is_terminal)
            if chunk:
                yield chunk
            if job.status.is_terminal:
                return
            time.sleep(_POLL_SECONDS)
