"""SQL over a feature group's offline store (SageMaker's ``athena_query()`` equivalent).

Example:
    >>> query = group.athena_query()  # doctest: +SKIP
    >>> query.run(f'SELECT sentiment, COUNT(*) AS n FROM "{query.table_name}" GROUP BY 1')
    >>> query.as_dataframe()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.backends.metadata import FeatureGroupRecord
    from sagebox.session import Session
    from sagebox.sql import QueryResult

__all__ = ["FeatureGroupQuery", "latest_versions"]


class FeatureGroupQuery:
    """Runs SQL in the feature store's catalog database, where the group is a table.

    ``table_name`` is the table's name inside ``database`` (unqualified names resolve
    there); ``full_table_name`` works from anywhere, e.g. ``sagebox sql``.

    Example:
        >>> q = FeatureGroupQuery(session, record)  # doctest: +SKIP
        >>> q.run(f'SELECT * FROM "{q.table_name}" WHERE NOT is_deleted').as_dataframe()
    """

    def __init__(self, session: Session, record: FeatureGroupRecord) -> None:
        self.session = session
        self.record = record
        self.database, _, self.table_name = record.table_name.partition(".")
        self.full_table_name = record.table_name
        self._result: QueryResult | None = None

    def run(self, query_string: str) -> FeatureGroupQuery:
        """Run the query now (DuckDB over the Parquet files); return self.

        Raises:
            SqlError: DuckDB rejected the query.
        """
        from sagebox.sql import SqlEngine

        self._result = SqlEngine(self.session, database=self.database).execute(query_string)
        return self

    def wait(self) -> None:
        """Queries run synchronously; kept for SageMaker compatibility."""

    def as_dataframe(self) -> pd.DataFrame:
        """The last query's rows.

        Raises:
            InputDataError: if no query ran yet.
        """
        if self._result is None:
            raise InputDataError("no query has run yet", hint="call run(query_string) first")
        return self._result.to_pandas()


def latest_versions(frame: pd.DataFrame, record: FeatureGroupRecord) -> pd.DataFrame:
    """Each id's newest row (by event time, then write time) from offline-store rows."""
    from sagebox.features.pit import to_ns

    if frame.empty:
        return frame
    order = frame.assign(
        __t=to_ns(frame[record.event_time_feature_name], "event time"),
        __w=to_ns(frame["write_time"], "write time"),
    ).sort_values([record.record_identifier_name, "__t", "__w"], kind="stable")
    newest = order.drop_duplicates(record.record_identifier_name, keep="last")
    return newest.drop(columns=["__t", "__w"])
