"""The query history in the metadata database (table ``sql_queries``), through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from sagebox.backends.metadata._database import SqlDatabase
from sagebox.backends.metadata._orm_query_history import QueryRow
from sagebox.backends.metadata.query_history import QueryHistory, QueryRecord
from sagebox.errors import NotFoundError

__all__ = ["SqlQueryHistory"]


class SqlQueryHistory(QueryHistory):
    """The history in the metadata database (table ``sql_queries``). See :class:`QueryHistory`.

    Args:
        url: the metadata URL (``sqlite:///...`` or ``postgresql://...``).

    Example:
        >>> history = SqlQueryHistory("sqlite:///:memory:")
        >>> _ = history.add(QueryRecord("q-1", "SELECT 1", "succeeded", 0.01))
        >>> history.list()[0].query_id
        'q-1'
    """

    def __init__(self, url: str) -> None:
        self._db = SqlDatabase(url)

    def __repr__(self) -> str:
        return f"SqlQueryHistory({self._db.masked_url!r})"

    def add(self, record: QueryRecord) -> QueryRecord:
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
        stmt = select(QueryRow).order_by(QueryRow.started_at.desc(), QueryRow.id.desc())
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(stmt.limit(limit))]

    def close(self) -> None:
        self._db.close()


def _record(row: QueryRow) -> QueryRecord:
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
