"""The query history (as in Athena's console): every query run, its outcome and timings."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sagebox.errors import NotFoundError

__all__ = ["QueryHistory", "QueryRecord", "SqlQueryHistory"]


@dataclass
class QueryRecord:
    """One query: what was asked, how it ended, and how long each phase took.

    ``timings`` holds seconds per phase: ``plan`` (catalog look-ups, file listing),
    ``execute`` (DuckDB) and, for CTAS, ``write`` (Parquet into the lake).

    Example:
        >>> QueryRecord(query_id="q-1", sql="SELECT 1", status="succeeded", seconds=0.01)
        QueryRecord(query_id='q-1', sql='SELECT 1', status='succeeded', ...)
    """

    query_id: str
    sql: str
    status: str
    seconds: float
    database: str | None = None
    error: str | None = None
    rows: int | None = None
    tables: list[str] = field(default_factory=list)
    output: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started_at: datetime | None = None


class QueryHistory(abc.ABC):
    """Where query records are kept.

    Example:
        >>> history = SqlQueryHistory("sqlite:///:memory:")
        >>> _ = history.add(QueryRecord("q-1", "SELECT 1", "succeeded", 0.01))
        >>> history.list()[0].query_id
        'q-1'
    """

    @abc.abstractmethod
    def add(self, record: QueryRecord) -> QueryRecord:
        """Store a record (``started_at`` set if missing)."""

    @abc.abstractmethod
    def get(self, query_id: str) -> QueryRecord:
        """One record. Raises NotFoundError."""

    @abc.abstractmethod
    def list(self, limit: int = 50) -> list[QueryRecord]:
        """The newest records first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class SqlQueryHistory(QueryHistory):
    """The history in the metadata database (table ``sql_queries``)."""

    def __init__(self, url: str) -> None:
        from sagebox.backends.metadata._sessions import SqlDatabase

        self._db = SqlDatabase(url)

    def add(self, record: QueryRecord) -> QueryRecord:
        from sagebox.sql._orm import QueryRow

        row = QueryRow(
            query_id=record.query_id,
            sql=record.sql,
            database=record.database,
            status=record.status,
            error=record.error,
            rows=record.rows,
            tables=list(record.tables),
            output=record.output,
            timings={k: round(float(v), 6) for k, v in record.timings.items()},
            seconds=float(record.seconds),
            started_at=record.started_at or datetime.now(UTC),
        )
        with self._db.session(write=True) as session:
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, query_id: str) -> QueryRecord:
        from sagebox.sql._orm import QueryRow

        with self._db.session() as session:
            row = session.scalars(
                select(QueryRow).where(QueryRow.query_id == query_id)
            ).one_or_none()
            if row is None:
                raise NotFoundError(
                    f"no query {query_id!r} in the history", hint="list them: sagebox sql --history"
                )
            return _record(row)

    def list(self, limit: int = 50) -> list[QueryRecord]:
        from sagebox.sql._orm import QueryRow

        stmt = select(QueryRow).order_by(QueryRow.started_at.desc(), QueryRow.id.desc())
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(stmt.limit(limit))]

    def close(self) -> None:
        self._db.close()


def _record(row: Any) -> QueryRecord:
    return QueryRecord(
        query_id=row.query_id,
        sql=row.sql,
        status=row.status,
        seconds=row.seconds,
        database=row.database,
        error=row.error,
        rows=row.rows,
        tables=list(row.tables),
        output=row.output,
        timings=dict(row.timings),
        started_at=None if row.started_at is None else row.started_at.astimezone(UTC),
    )
