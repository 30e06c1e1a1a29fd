"""SQLAlchemy 2 declarative models of the metadata store.

The schema itself is owned by the Alembic migrations in ``migrations/versions``; these models
(with those of :data:`MODEL_MODULES`) must match the newest migration (a conformance test checks).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones, so values are stored as naive UTC and tagged on the way out;
    PostgreSQL stores ``timestamptz`` and returns it in the session's zone, which is normalised
    to UTC. Naive inputs follow Python's convention and are taken as local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the metadata tables."""

    type_annotation_map = {
        dict[str, Any]: JSON,
        list[dict[str, Any]]: JSON,
        datetime: UtcDateTime,
    }


#: Modules of the other stores that keep tables in the metadata database (on :class:`Base`, in
#: the same migration chain); :func:`load_models` imports them so that ``Base.metadata`` is whole.
MODEL_MODULES = (
    "sagebox.backends.metadata._orm_catalog",
    "sagebox.backends.metadata._orm_query_history",
    "sagebox.backends.metadata._orm_feature_groups",
)


def load_models() -> None:
    """Import every module that declares tables on :class:`Base` (for autogenerate and checks)."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


class JobRow(Base):
    """One row of ``jobs``."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    parameters: Mapped[dict[str, Any]]
    inputs: Mapped[dict[str, Any]]
    outputs: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    log_uri: Mapped[str | None] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    restarts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    slot: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)


class JobMetricRow(Base):
    """One point of a job's metric time series (``job_metrics``)."""

    __tablename__ = "job_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_name: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Float)
    step: Mapped[int | None] = mapped_column(Integer)
    timestamp: Mapped[datetime]


class ArtifactRow(Base):
    """One row of ``artifacts``."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uri: Mapped[str] = mapped_column(Text, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    producer_job: Mapped[str | None] = mapped_column(String(255), index=True)
    properties: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ModelRow(Base):
    """One row of ``models``."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    artifact_uri: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]]
    source_job: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(index=True)


class EndpointRow(Base):
    """One row of ``endpoints``."""

    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    model_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(String(255))
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class RuleEvaluationRow(Base):
    """The status of one rule on one training job (``rule_evaluations``)."""

    __tablename__ = "rule_evaluations"
    __table_args__ = (UniqueConstraint("job_name", "rule_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_name: Mapped[str] = mapped_column(String(255), index=True)
    rule_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    step: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    actions: Mapped[list[dict[str, Any]]]
    parameters: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
