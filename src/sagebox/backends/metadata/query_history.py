"""The query-history interface (as in Athena's console): every query run, its outcome and timings.

A query history keeps one :class:`QueryRecord` per query, identified by its ``query_id``
(unique). :meth:`QueryHistory.add` stores a record and sets ``started_at`` to now (UTC) when it
is missing; :meth:`QueryHistory.get` returns one record or raises
:class:`~sagebox.errors.NotFoundError` naming the id; :meth:`QueryHistory.list` returns the
newest records first (by ``started_at``, then by insertion), at most ``limit`` of them.
Timestamps come back timezone-aware in UTC.

Implementations: SQL (:class:`~sagebox.backends.metadata.sql_query_history.SqlQueryHistory`,
table ``sql_queries`` of the metadata database). Check one with
:mod:`sagebox.testing.catalog`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["QueryHistory", "QueryRecord"]


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
        >>> from sagebox.backends.metadata import open_query_history
        >>> history = open_query_history("sqlite:///:memory:")
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
