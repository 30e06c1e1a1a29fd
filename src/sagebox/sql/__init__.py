"""SQL over the data lake with DuckDB (the Athena equivalent).

Catalog tables are queried by name; results come back as pandas or Arrow::

    from sagebox.sql import SqlEngine, read_sql_query

    df = read_sql_query("SELECT product_category, COUNT(*) AS n FROM reviews.raw GROUP BY 1")
    engine = SqlEngine(database="reviews")
    engine.execute("CREATE TABLE reviews.positive AS SELECT * FROM raw WHERE Rating >= 4")

:func:`query` runs SQL over explicit lake keys, without the catalog; :func:`quote_identifier`
quotes a database, table or column name for the SQL you build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagebox.backends.metadata import QueryHistory, QueryRecord
from sagebox.sql._resolve import quote_identifier
from sagebox.sql.athena import QueryResult, SqlEngine, SqlError
from sagebox.sql.engine import lake_path, query

if TYPE_CHECKING:
    import pandas as pd

    from sagebox.session import Session

__all__ = [
    "QueryHistory",
    "QueryRecord",
    "QueryResult",
    "SqlEngine",
    "SqlError",
    "lake_path",
    "query",
    "quote_identifier",
    "read_sql_query",
]


def read_sql_query(
    sql: str, *, database: str | None = None, session: Session | None = None
) -> pd.DataFrame:
    """Run ``sql`` over catalog tables and return the rows as a pandas DataFrame.

    Raises:
        SqlError: DuckDB rejected the query (message with its line and column).
        NotFoundError: a table is not in the catalog (close names hinted).
    """
    return SqlEngine(session, database=database).execute(sql).to_pandas()
