"""The write half of CTAS: Parquet into the lake, then the table and partitions into the catalog."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from sagebox.backends.metadata import Column, Partition, Table, check_name
from sagebox.backends.storage.hive import partition_dir
from sagebox.catalog.types import from_arrow
from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError

if TYPE_CHECKING:
    import pyarrow as pa

    from sagebox.session import Session
    from sagebox.sql._ctas import Ctas

__all__ = ["create_table_as", "warehouse_key"]


def warehouse_key(database: str, name: str) -> str:
    """The default lake folder of a table made by CTAS."""
    return f"warehouse/{database}/{name}/"


def create_table_as(
    session: Session, ctas: Ctas, default: str | None, arrow: pa.Table, query_id: str
) -> str:
    """Write the query's rows as Parquet and register the table; return its full name.

    Raises:
        InputDataError: no database given, a partition column not in the result.
        NotFoundError: the database does not exist.
        AlreadyExistsError: the table exists (and neither IF NOT EXISTS nor OR REPLACE).
    """
    from sagebox import lake

    if not (ctas.database or default):
        raise InputDataError(
            f"CREATE TABLE {ctas.name} needs a database",
            hint=f"write CREATE TABLE database.{ctas.name} AS ..., or pass --database",
        )
    database = check_name("database", ctas.database or default or "")
    name = check_name("table", ctas.name)
    catalog = session.catalog
    catalog.get_database(database)
    existing = None
    with suppress(NotFoundError):
        existing = catalog.get_table(database, name)
    if existing is not None and not ctas.replace:
        if ctas.if_not_exists:
            return existing.full_name
        raise AlreadyExistsError(
            f"table {database}.{name} already exists",
            hint="use CREATE OR REPLACE TABLE, CREATE TABLE IF NOT EXISTS, or another name",
        )
    missing = [c for c in ctas.partitioned_by if c not in arrow.column_names]
    if missing:
        raise InputDataError(
            f"partitioned_by column(s) {', '.join(map(repr, missing))} are not in the query's "
            "result",
            hint=f"the result has: {', '.join(arrow.column_names)}",
        )
    target = ctas.location or warehouse_key(database, name)
    written = lake.to_parquet(
        arrow, target, partition_cols=ctas.partitioned_by, mode="overwrite", session=session
    )
    schema = arrow.schema
    keys = set(ctas.partitioned_by)
    table = Table(
        database=database,
        name=name,
        location=written.uri,
        format="parquet",
        columns=[Column(f.name, from_arrow(f.type)) for f in schema if f.name not in keys],
        partition_keys=[Column(k, from_arrow(schema.field(k).type)) for k in ctas.partitioned_by],
        row_count=arrow.num_rows,
        description=ctas.description or (existing.description if existing else ""),
        tags=dict(existing.tags) if existing else {},
        parameters={"created_by": "ctas", "query_id": query_id},
    )
    if existing is None:
        catalog.create_table(table)
    else:
        # The old partitions go first: they are matched by the old partition keys.
        old = [p.values for p in catalog.list_partitions(database, name)]
        catalog.delete_partitions(database, name, old)
        catalog.update_table(table)
    if ctas.partitioned_by:
        partitions = []
        for spec in written.partitions:
            values = [None if spec[k] is None else str(spec[k]) for k in ctas.partitioned_by]
            folder = partition_dir(ctas.partitioned_by, values)
            partitions.append(
                Partition(database, name, values, f"{written.uri.rstrip('/')}/{folder}")
            )
        catalog.put_partitions(database, name, partitions)
    return table.full_name
