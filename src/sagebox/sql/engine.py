"""Run DuckDB SQL over Parquet and CSV objects in the lake, on any storage backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from sagebox.backends.storage.base import ObjectStore

__all__ = ["lake_path", "query"]


def lake_path(store: ObjectStore, key: str, con: duckdb.DuckDBPyConnection) -> str:
    """The path DuckDB should read for ``key``; registers remote filesystems on ``con``."""
    fs, root = store.filesystem()
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        return f"{root.rstrip('/')}/{key}"
    if not con.filesystem_is_registered(fs.protocol if isinstance(fs.protocol, str) else protocol):
        con.register_filesystem(fs)
    return store.url(key)


def query(store: ObjectStore, sql: str, tables: dict[str, str]) -> pd.DataFrame:
    """Run ``sql`` where each name in ``tables`` is a view over a lake key (Parquet or CSV).

    Args:
        store: the lake.
        sql: a DuckDB SQL query.
        tables: view name → lake key (``.parquet`` or ``.csv``/``.csv.gz``; globs allowed).

    Returns:
        The result as a pandas DataFrame.

    Raises:
        InputDataError: if the SQL is invalid or refers to missing data (the message says which).

    Example:
        >>> query(store, "SELECT COUNT(*) AS n FROM raw", {"raw": "raw/reviews.parquet"})
    """
    import duckdb

    con = duckdb.connect()
    try:
        for name, key in tables.items():
            path = lake_path(store, key, con).replace("'", "''")
            reader = "read_parquet" if ".parquet" in key else "read_csv_auto"
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM {reader}('{path}')")
        return con.execute(sql).df()
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        raise InputDataError(
            f"SQL failed: {message}", hint="check the query and table names"
        ) from exc
    finally:
        con.close()
