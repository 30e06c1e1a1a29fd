"""The SQLAlchemy metadata store, for SQLite (default) and PostgreSQL URLs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sagebox.backends.metadata._database import SqlDatabase
from sagebox.backends.metadata._orm import (
    ArtifactRow,
    EndpointRow,
    JobMetricRow,
    JobRow,
    ModelRow,
    RuleEvaluationRow,
)
from sagebox.backends.metadata.base import (
    ArtifactRecord,
    EndpointRecord,
    JobRecord,
    JobStatus,
    MetadataStore,
    MetricPoint,
    ModelRecord,
    RuleEvaluationRecord,
)
from sagebox.errors import AlreadyExistsError, NotFoundError
from sagebox.names import check_resource_name

__all__ = ["SqlMetadataStore"]

_JOB_FIELDS = frozenset(f.name for f in dataclasses.fields(JobRecord))
_JOB_SETTABLE = _JOB_FIELDS - {"name", "created_at", "slot"}
_JSON_FIELDS = ("parameters", "inputs", "outputs", "metrics")


class SqlMetadataStore(MetadataStore):
    """Metadata in a SQL database through SQLAlchemy, with the schema kept by Alembic.

    Opening the store migrates the database to the newest schema. SQLite files are shared
    safely by several processes (WAL mode, a busy timeout, write transactions that take the
    write lock up front); ``postgresql://`` URLs use the psycopg 3 driver.

    Args:
        url: ``sqlite:///path/to/file.db``, ``sqlite:///:memory:`` or
            ``postgresql://user[:password]@host[:port]/database``.
        connect_timeout: seconds to wait for a PostgreSQL server to answer.
        busy_timeout: seconds a SQLite statement waits for another process's lock.

    Raises:
        ConfigError: if the URL is malformed, names another database or lacks its driver.
        ServiceUnavailableError: if the database cannot be reached.

    Example:
        >>> store = SqlMetadataStore("sqlite:///:memory:")
        >>> job = store.create_job(JobRecord(name="train-1", kind="training"))
        >>> store.update_job("train-1", status=JobStatus.COMPLETED, metrics={"f1": 0.9}).status
        <JobStatus.COMPLETED: 'Completed'>
    """

    def __init__(self, url: str, *, connect_timeout: float = 5.0, busy_timeout: float = 30.0):
        self._db = SqlDatabase(url, connect_timeout=connect_timeout, busy_timeout=busy_timeout)

    @property
    def url(self) -> str:
        """The database URL with its password masked, e.g. ``postgresql+psycopg://u:***@h/db``."""
        return self._db.masked_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # jobs
    def create_job(self, job: JobRecord) -> JobRecord:
        check_resource_name("job", job.name)
        row = JobRow(
            name=job.name,
            kind=job.kind,
            status=JobStatus(job.status).value,
            parameters=dict(job.parameters),
            inputs=dict(job.inputs),
            outputs=dict(job.outputs),
            metrics=dict(job.metrics),
            log_uri=job.log_uri,
            handle=job.handle,
            failure_reason=job.failure_reason,
            created_at=job.created_at or _now(),
            started_at=job.started_at,
            ended_at=job.ended_at,
            restarts=job.restarts,
            lease_owner=job.lease_owner,
            lease_expires_at=job.lease_expires_at,
        )
        with self._insert(row, "job", job.name):
            return _job_record(row)

    def get_job(self, name: str) -> JobRecord:
        with self._session() as session:
            return _job_record(self._one(session, JobRow, name, "job"))

    def update_job(self, name: str, **changes: Any) -> JobRecord:
        """Set fields of a job atomically; ``metrics`` are merged into the stored ones.

        Raises:
            NotFoundError: if there is no job ``name``.
            TypeError: if a change names a field that cannot be set (``name``, ``created_at``,
                ``slot`` or one that a job does not have).
        """
        updated = self._update_job(name, None, changes)
        assert updated is not None
        return updated

    def update_job_if(
        self, name: str, expected: dict[str, Any], **changes: Any
    ) -> JobRecord | None:
        return self._update_job(name, expected, changes)

    def _update_job(
        self, name: str, expected: dict[str, Any] | None, changes: dict[str, Any]
    ) -> JobRecord | None:
        unknown = (set(changes) - _JOB_SETTABLE) | (set(expected or {}) - _JOB_FIELDS)
        if unknown:
            raise TypeError(
                f"update_job() cannot set {', '.join(sorted(unknown))}; "
                f"settable fields: {', '.join(sorted(_JOB_SETTABLE))}"
            )
        if "status" in changes:
            changes["status"] = JobStatus(changes["status"]).value
        with self._session(write=True) as session:
            row = self._one(session, JobRow, name, "job", for_update=True)
            if expected is not None:
                current = _job_record(row)
                if any(getattr(current, k) != v for k, v in expected.items()):
                    return None
            for key, value in changes.items():
                if key == "metrics":
                    value = {**row.metrics, **(value or {})}
                elif key in _JSON_FIELDS:
                    value = dict(value or {})
                setattr(row, key, value)
            if JobStatus(row.status).is_terminal:  # an ended job gives its slot up
                row.slot = None
                row.lease_expires_at = None
            session.flush()
            return _job_record(row)

    def claim_job_slot(
        self, name: str, owner: str, slots: int, lease_seconds: float, *, coordinator: bool = False
    ) -> JobRecord | None:
        """Claim a worker slot for job ``name``; see :meth:`MetadataStore.claim_job_slot`.

        The job's row is locked (SQLite: the write lock taken up front; PostgreSQL: ``SELECT
        ... FOR UPDATE``) and the unique index on ``jobs.slot`` refuses a second holder of a
        slot: of two processes that pick the same free slot at once, the second one's insert
        fails and it reports "no slot free" (it tries again later).
        """
        now = _now()
        try:
            with self._session(write=True) as session:
                row = self._one(session, JobRow, name, "job", for_update=True)
                status = JobStatus(row.status)
                if status.is_terminal or status is JobStatus.STOPPING:
                    return _job_record(row)
                if row.slot is None:
                    held = set(session.scalars(select(JobRow.slot).where(JobRow.slot.is_not(None))))
                    if coordinator:
                        candidates = range(-1, -len(held) - 2, -1)
                    else:
                        candidates = range(max(1, slots))
                    free = [n for n in candidates if n not in held]
                    if not free:
                        return None
                    row.slot = free[0]
                row.lease_owner = owner
                row.lease_expires_at = now + timedelta(seconds=lease_seconds)
                row.status = JobStatus.IN_PROGRESS.value
                row.started_at = row.started_at or now
                session.flush()
                return _job_record(row)
        except IntegrityError:
            return None  # another job took that slot at the same moment

    def renew_job_lease(self, name: str, owner: str, lease_seconds: float) -> JobRecord | None:
        with self._session(write=True) as session:
            row = self._one(session, JobRow, name, "job", for_update=True)
            if row.slot is None or row.lease_owner != owner or JobStatus(row.status).is_terminal:
                return None
            row.lease_expires_at = _now() + timedelta(seconds=lease_seconds)
            session.flush()
            return _job_record(row)

    def list_expired_jobs(self, now: datetime | None = None) -> list[JobRecord]:
        ended = [s.value for s in JobStatus if s.is_terminal]
        stmt = (
            select(JobRow)
            .where(JobRow.lease_expires_at < (now or _now()), JobRow.status.not_in(ended))
            .order_by(JobRow.lease_expires_at, JobRow.id)
        )
        with self._session() as session:
            return [_job_record(row) for row in session.scalars(stmt)]

    def add_metric_points(self, job_name: str, points: list[MetricPoint]) -> None:
        kept = [p for p in points if math.isfinite(p.value)]  # SQLite cannot store NaN
        if not kept:
            return
        now = _now()
        with self._session(write=True) as session:
            row = self._one(session, JobRow, job_name, "job", for_update=True)
            session.add_all(
                JobMetricRow(
                    job_name=job_name,
                    name=p.name,
                    value=float(p.value),
                    step=p.step,
                    timestamp=p.timestamp or now,
                )
                for p in kept
            )
            row.metrics = {**row.metrics, **{p.name: float(p.value) for p in kept}}
            session.flush()

    def list_metric_points(self, job_name: str, name: str | None = None) -> list[MetricPoint]:
        stmt = select(JobMetricRow).where(JobMetricRow.job_name == job_name)
        if name is not None:
            stmt = stmt.where(JobMetricRow.name == name)
        with self._session() as session:
            return [
                MetricPoint(name=r.name, value=r.value, step=r.step, timestamp=_utc(r.timestamp))
                for r in session.scalars(stmt.order_by(JobMetricRow.id))
            ]

    def list_jobs(
        self, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> list[JobRecord]:
        stmt = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit)
        if kind is not None:
            stmt = stmt.where(JobRow.kind == kind)
        if status is not None:
            stmt = stmt.where(JobRow.status == JobStatus(status).value)
        with self._session() as session:
            return [_job_record(row) for row in session.scalars(stmt)]

    # rule evaluations
    def put_rule_evaluation(self, record: RuleEvaluationRecord) -> RuleEvaluationRecord:
        try:
            return self._put_rule_evaluation(record)
        except IntegrityError:
            # Another process inserted it between our SELECT and INSERT: now it is an update.
            return self._put_rule_evaluation(record)

    def _put_rule_evaluation(self, record: RuleEvaluationRecord) -> RuleEvaluationRecord:
        stmt = select(RuleEvaluationRow).where(
            RuleEvaluationRow.job_name == record.job_name,
            RuleEvaluationRow.rule_name == record.rule_name,
        )
        with self._session(write=True) as session:
            row = session.scalars(stmt.with_for_update()).one_or_none()
            if row is None:
                row = RuleEvaluationRow(job_name=record.job_name, rule_name=record.rule_name)
                session.add(row)
            row.kind = record.kind
            row.status = str(record.status)
            row.step = None if record.step is None else int(record.step)
            row.message = record.message
            row.evidence = _json_safe(dict(record.evidence))
            row.actions = _json_safe([dict(a) for a in record.actions])
            row.parameters = _json_safe(dict(record.parameters))
            row.updated_at = _now()
            session.flush()
            return _rule_evaluation_record(row)

    def list_rule_evaluations(self, job_name: str) -> list[RuleEvaluationRecord]:
        stmt = (
            select(RuleEvaluationRow)
            .where(RuleEvaluationRow.job_name == job_name)
            .order_by(RuleEvaluationRow.id)
        )
        with self._session() as session:
            return [_rule_evaluation_record(row) for row in session.scalars(stmt)]

    # artifacts
    def add_artifact(self, artifact: ArtifactRecord) -> ArtifactRecord:
        row = ArtifactRow(
            uri=artifact.uri,
            kind=artifact.kind,
            sha256=artifact.sha256,
            size=artifact.size,
            producer_job=artifact.producer_job,
            properties=dict(artifact.properties),
            created_at=artifact.created_at or _now(),
        )
        with self._session(write=True) as session:
            session.add(row)
            session.flush()
            return _artifact_record(row)

    def list_artifacts(
        self, producer_job: str | None = None, uri: str | None = None
    ) -> list[ArtifactRecord]:
        stmt = select(ArtifactRow).order_by(ArtifactRow.id)
        if producer_job is not None:
            stmt = stmt.where(ArtifactRow.producer_job == producer_job)
        if uri is not None:
            stmt = stmt.where(ArtifactRow.uri == uri)
        with self._session() as session:
            return [_artifact_record(row) for row in session.scalars(stmt)]

    # models
    def create_model(self, model: ModelRecord) -> ModelRecord:
        check_resource_name("model", model.name)
        row = ModelRow(
            name=model.name,
            artifact_uri=model.artifact_uri,
            manifest=_model_column(model),
            source_job=model.source_job,
            created_at=model.created_at or _now(),
        )
        with self._insert(row, "model", model.name):
            return _model_record(row)

    def get_model(self, name: str) -> ModelRecord:
        with self._session() as session:
            return _model_record(self._one(session, ModelRow, name, "model"))

    def list_models(self) -> list[ModelRecord]:
        stmt = select(ModelRow).order_by(ModelRow.created_at.desc(), ModelRow.id.desc())
        with self._session() as session:
            return [_model_record(row) for row in session.scalars(stmt)]

    def delete_model(self, name: str) -> None:
        self._delete(ModelRow, name, "model")

    # endpoints
    def put_endpoint(self, endpoint: EndpointRecord) -> EndpointRecord:
        """Create or replace an endpoint; a replaced one keeps its ``created_at``."""
        check_resource_name("endpoint", endpoint.name)
        try:
            return self._put_endpoint(endpoint)
        except IntegrityError:
            # Another process created it between our SELECT and INSERT: now it is a replace.
            return self._put_endpoint(endpoint)

    def _put_endpoint(self, endpoint: EndpointRecord) -> EndpointRecord:
        now = _now()
        with self._session(write=True) as session:
            row = self._one(
                session, EndpointRow, endpoint.name, "endpoint", for_update=True, missing_ok=True
            )
            if row is None:
                row = EndpointRow(name=endpoint.name, created_at=endpoint.created_at or now)
                session.add(row)
            row.model_name = endpoint.model_name
            row.status = endpoint.status
            row.url = endpoint.url
            row.handle = endpoint.handle
            row.config = dict(endpoint.config)
            row.updated_at = now
            session.flush()
            return _endpoint_record(row)

    def get_endpoint(self, name: str) -> EndpointRecord:
        with self._session() as session:
            return _endpoint_record(self._one(session, EndpointRow, name, "endpoint"))

    def list_endpoints(self) -> list[EndpointRecord]:
        stmt = select(EndpointRow).order_by(EndpointRow.created_at.desc(), EndpointRow.id.desc())
        with self._session() as session:
            return [_endpoint_record(row) for row in session.scalars(stmt)]

    def delete_endpoint(self, name: str) -> None:
        self._delete(EndpointRow, name, "endpoint")

    def close(self) -> None:
        self._db.close()

    # helpers
    def _session(self, write: bool = False) -> AbstractContextManager[Session]:
        return self._db.session(write=write)

    @contextmanager
    def _insert(self, row: JobRow | ModelRow, kind: str, name: str) -> Iterator[None]:
        try:
            with self._session(write=True) as session:
                session.add(row)
                session.flush()
                yield
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"a {kind} named {name!r} already exists",
                hint=f"choose another name (list them with `sagebox {kind}s list`)",
            ) from exc

    def _one(
        self,
        session: Session,
        table: Any,
        name: str,
        kind: str,
        *,
        for_update: bool = False,
        missing_ok: bool = False,
    ) -> Any:
        stmt = select(table).where(table.name == name)
        if for_update:
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).one_or_none()
        if row is None and not missing_ok:
            raise _not_found(kind, name)
        return row

    def _delete(self, table: Any, name: str, kind: str) -> None:
        with self._session(write=True) as session:
            result = session.execute(delete(table).where(table.name == name))
            if getattr(result, "rowcount", 0) == 0:
                raise _not_found(kind, name)


def _json_safe(value: Any) -> Any:
    """``value`` with every number a finite int or float (NaN/inf → strings), for JSON columns.

    Rules compute their evidence with numpy and torch, whose scalars are not JSON numbers, and
    PostgreSQL's ``json`` rejects NaN, which exploding tensors are all about.
    """
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if callable(getattr(value, "tolist", None)):  # numpy / torch scalars and arrays
        try:
            return _json_safe(value.tolist())
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    return str(value)


def _utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC; naive values are local time, as everywhere in Python."""
    return None if value is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(kind: str, name: str) -> NotFoundError:
    return NotFoundError(f"no {kind} named {name!r}", hint=f"list them with `sagebox {kind}s list`")


def _job_record(row: JobRow) -> JobRecord:
    return JobRecord(
        name=row.name,
        kind=row.kind,
        status=JobStatus(row.status),
        parameters=dict(row.parameters),
        inputs=dict(row.inputs),
        outputs=dict(row.outputs),
        metrics=dict(row.metrics),
        log_uri=row.log_uri,
        handle=row.handle,
        failure_reason=row.failure_reason,
        created_at=_utc(row.created_at),
        started_at=_utc(row.started_at),
        ended_at=_utc(row.ended_at),
        restarts=int(row.restarts or 0),
        slot=row.slot,
        lease_owner=row.lease_owner,
        lease_expires_at=_utc(row.lease_expires_at),
    )


def _artifact_record(row: ArtifactRow) -> ArtifactRecord:
    return ArtifactRecord(
        uri=row.uri,
        kind=row.kind,
        sha256=row.sha256,
        size=row.size,
        producer_job=row.producer_job,
        properties=dict(row.properties),
        created_at=_utc(row.created_at),
        artifact_id=row.id,
    )


#: The key under which the archive's SHA-256 rides in the ``models.manifest`` JSON column (no
#: schema change; a manifest of a package never holds it: ``ModelRecord.manifest`` drops it).
_SHA256_KEY = "__sagebox_sha256__"


def _model_column(model: ModelRecord) -> dict[str, Any]:
    column = {k: v for k, v in model.manifest.items() if k != _SHA256_KEY}
    if model.sha256 is not None:
        column[_SHA256_KEY] = model.sha256
    return column


def _model_record(row: ModelRow) -> ModelRecord:
    manifest = dict(row.manifest)
    sha256 = manifest.pop(_SHA256_KEY, None)
    return ModelRecord(
        name=row.name,
        artifact_uri=row.artifact_uri,
        manifest=manifest,
        source_job=row.source_job,
        created_at=_utc(row.created_at),
        sha256=sha256 if isinstance(sha256, str) else None,
    )


def _endpoint_record(row: EndpointRow) -> EndpointRecord:
    return EndpointRecord(
        name=row.name,
        model_name=row.model_name,
        status=row.status,
        url=row.url,
        handle=row.handle,
        config=dict(row.config),
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
    )


def _rule_evaluation_record(row: RuleEvaluationRow) -> RuleEvaluationRecord:
    return RuleEvaluationRecord(
        job_name=row.job_name,
        rule_name=row.rule_name,
        kind=row.kind,
        status=row.status,
        step=row.step,
        message=row.message,
        evidence=dict(row.evidence),
        actions=[dict(a) for a in row.actions],
        updated_at=_utc(row.updated_at),
        parameters=dict(row.parameters),
    )
