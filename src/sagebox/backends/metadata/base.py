"""The metadata-store interface: jobs, artifacts (lineage), models and endpoints.

Records are plain dataclasses; stores persist them. One implementation (SQLAlchemy) serves both
SQLite and PostgreSQL URLs; others may implement the same interface.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ArtifactRecord",
    "EndpointRecord",
    "JobRecord",
    "JobStatus",
    "MetadataStore",
    "MetricPoint",
    "ModelRecord",
    "RuleEvaluationRecord",
]


class JobStatus(enum.StrEnum):
    """Lifecycle of a job, with SageMaker's names."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED)


@dataclass
class JobRecord:
    """A processing, training, transform or other job.

    ``handle`` is the compute backend's reference to the running task (a pid for the local
    backend); ``log_uri`` is where its combined stdout/stderr lives; ``restarts`` counts the
    times its process was restarted after being killed (see ``max_retries``).

    ``slot`` is the worker slot the job holds while it runs (``0 .. max_workers - 1``; None
    while queued and once ended), ``lease_owner`` the runner that holds it and
    ``lease_expires_at`` when that runner's lease ends unless it renews it (its heartbeat). A
    job whose lease expired lost its runner (killed, or its machine stopped). Slots and leases
    are set only by :meth:`MetadataStore.claim_job_slot` and
    :meth:`MetadataStore.renew_job_lease`; a job that ends gives its slot up.
    """

    name: str
    kind: str
    status: JobStatus = JobStatus.PENDING
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    log_uri: str | None = None
    handle: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    restarts: int = 0
    slot: int | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None


@dataclass
class MetricPoint:
    """One value of a job metric's time series (``step``: training step or sequence number)."""

    name: str
    value: float
    step: int | None = None
    timestamp: datetime | None = None


@dataclass
class ArtifactRecord:
    """A file or dataset a job produced or consumed, with its content hash (for lineage)."""

    uri: str
    kind: str
    sha256: str
    size: int
    producer_job: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    artifact_id: int | None = None


@dataclass
class ModelRecord:
    """A packaged model: artifact URI + manifest (signature, algorithm, labels, environment).

    ``sha256`` is the hex SHA-256 of the archive at registration; every load checks it (None
    only for records written before sagebox recorded it).
    """

    name: str
    artifact_uri: str
    manifest: dict[str, Any] = field(default_factory=dict)
    source_job: str | None = None
    created_at: datetime | None = None
    sha256: str | None = None


@dataclass
class EndpointRecord:
    """A real-time endpoint served by a local process."""

    name: str
    model_name: str
    status: str
    url: str | None = None
    handle: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class RuleEvaluationRecord:
    """The status of one debugger or profiler rule watching one training job.

    ``status`` is SageMaker's rule status (``InProgress``, ``NoIssuesFound``, ``IssuesFound``,
    ``Error``); ``step``, ``message`` and ``evidence`` say where and why the rule fired (or,
    for ``Error``, what went wrong); ``actions`` are the rule's configured actions, each with a
    ``result`` once it was taken; ``parameters`` the rule's effective parameters.
    """

    job_name: str
    rule_name: str
    kind: str = "debugger"
    status: str = "InProgress"
    step: int | None = None
    message: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    updated_at: datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


class MetadataStore(abc.ABC):
    """Persistent records of jobs, artifacts, models and endpoints.

    Example:
        >>> from sagebox.backends.metadata import open_metadata_store
        >>> store = open_metadata_store("sqlite:///:memory:")
        >>> store.create_job(JobRecord(name="train-1", kind="training")).status
        <JobStatus.PENDING: 'Pending'>
    """

    # jobs
    @abc.abstractmethod
    def create_job(self, job: JobRecord) -> JobRecord:
        """Insert a new job (created_at set).

        Raises:
            InputDataError: if the name breaks :data:`sagebox.names.RESOURCE`.
            AlreadyExistsError: if the name is taken.
        """

    @abc.abstractmethod
    def get_job(self, name: str) -> JobRecord:
        """Return one job. Raises NotFoundError."""

    @abc.abstractmethod
    def update_job(self, name: str, **changes: Any) -> JobRecord:
        """Set fields of a job (``status=``, ``metrics=`` ...) atomically; return the new record.

        ``metrics`` given here are merged into the stored metrics rather than replacing them.
        A terminal ``status`` (Completed, Failed, Stopped) also frees the job's slot (``slot``
        and ``lease_expires_at`` become None). ``slot`` cannot be set here (see
        :meth:`claim_job_slot`). Raises NotFoundError.
        """

    @abc.abstractmethod
    def list_jobs(
        self, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> list[JobRecord]:
        """Jobs, newest first, optionally filtered by kind and status."""

    @abc.abstractmethod
    def update_job_if(
        self, name: str, expected: dict[str, Any], **changes: Any
    ) -> JobRecord | None:
        """Like :meth:`update_job`, but only if every field in ``expected`` still has that value.

        The check and the update are one atomic step (compare-and-set), so that of several
        processes racing to act on a job (e.g. restart it) exactly one wins. Returns the new
        record, or None if a field differed. Raises NotFoundError.
        """

    @abc.abstractmethod
    def claim_job_slot(
        self, name: str, owner: str, slots: int, lease_seconds: float, *, coordinator: bool = False
    ) -> JobRecord | None:
        """Claim one of ``slots`` worker slots for job ``name`` for runner ``owner``, atomically.

        A ``coordinator`` job (a tuning job: it only starts and follows other jobs) takes a
        slot of its own, numbered -1, -2, ... below the worker slots and never refused, so that
        it never holds a worker slot its own trials wait for; it gets a lease like any job.

        In one atomic step: if the job already holds a slot (its runner was restarted) it keeps
        it; else it takes the lowest slot number below ``slots`` that no other job holds. The
        job becomes InProgress (``started_at`` set if unset), ``lease_owner`` is ``owner`` and
        ``lease_expires_at`` is now + ``lease_seconds``. Two jobs never hold the same slot, even
        when several processes claim at once; a slot held by a job whose lease expired stays
        taken until that job ends (see :meth:`list_expired_jobs`).

        Returns the claimed record; None when every slot is taken (try again later); the record
        unchanged when the job has ended or is Stopping (it must not start). Raises
        NotFoundError.
        """

    @abc.abstractmethod
    def renew_job_lease(self, name: str, owner: str, lease_seconds: float) -> JobRecord | None:
        """Extend the lease of ``owner`` on job ``name`` to now + ``lease_seconds``, atomically.

        Returns the record, or None when ``owner`` no longer holds the job's slot (the job ended
        or was marked Failed after its lease expired, or another runner claimed it). Raises
        NotFoundError.
        """

    @abc.abstractmethod
    def list_expired_jobs(self, now: datetime | None = None) -> list[JobRecord]:
        """Jobs not ended whose lease expired before ``now`` (default: the current time).

        Their runners are lost; the caller ends or restarts them with :meth:`update_job_if`
        expecting the ``lease_owner`` and ``lease_expires_at`` it saw.
        """

    @abc.abstractmethod
    def add_metric_points(self, job_name: str, points: list[MetricPoint]) -> None:
        """Append points to the job's metric time series (timestamps default to now).

        The job's ``metrics`` are updated to the last value of each name in the same
        transaction. Raises NotFoundError if there is no such job.
        """

    @abc.abstractmethod
    def list_metric_points(self, job_name: str, name: str | None = None) -> list[MetricPoint]:
        """The job's metric points in the order they were added, optionally of one name."""

    # rule evaluations (training debugger and profiler)
    @abc.abstractmethod
    def put_rule_evaluation(self, record: RuleEvaluationRecord) -> RuleEvaluationRecord:
        """Create or replace the status of rule ``record.rule_name`` on ``record.job_name``.

        ``updated_at`` is set to now. Non-finite numbers in ``evidence`` are stored as the
        strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (JSON has no such numbers).
        """

    @abc.abstractmethod
    def list_rule_evaluations(self, job_name: str) -> list[RuleEvaluationRecord]:
        """The job's rule statuses in the order the rules were first recorded (none: [])."""

    # artifacts
    @abc.abstractmethod
    def add_artifact(self, artifact: ArtifactRecord) -> ArtifactRecord:
        """Record an artifact (artifact_id and created_at set)."""

    @abc.abstractmethod
    def list_artifacts(
        self, producer_job: str | None = None, uri: str | None = None
    ) -> list[ArtifactRecord]:
        """Artifacts, oldest first, optionally filtered by producing job or exact URI."""

    # models
    @abc.abstractmethod
    def create_model(self, model: ModelRecord) -> ModelRecord:
        """Register a model.

        Raises:
            InputDataError: if the name breaks :data:`sagebox.names.RESOURCE`.
            AlreadyExistsError: if the name is taken.
        """

    @abc.abstractmethod
    def get_model(self, name: str) -> ModelRecord:
        """Return one model. Raises NotFoundError."""

    @abc.abstractmethod
    def list_models(self) -> list[ModelRecord]:
        """All models, newest first."""

    @abc.abstractmethod
    def delete_model(self, name: str) -> None:
        """Delete a model record (not its artifact). Raises NotFoundError."""

    # endpoints
    @abc.abstractmethod
    def put_endpoint(self, endpoint: EndpointRecord) -> EndpointRecord:
        """Create or replace an endpoint record (updated_at set).

        Raises:
            InputDataError: if the name breaks :data:`sagebox.names.RESOURCE`.
        """

    @abc.abstractmethod
    def get_endpoint(self, name: str) -> EndpointRecord:
        """Return one endpoint. Raises NotFoundError."""

    @abc.abstractmethod
    def list_endpoints(self) -> list[EndpointRecord]:
        """All endpoints, newest first."""

    @abc.abstractmethod
    def delete_endpoint(self, name: str) -> None:
        """Delete an endpoint record. Raises NotFoundError."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
