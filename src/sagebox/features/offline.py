"""The offline store: append-only Parquet in the lake, one object per ingested batch.

Each batch becomes ``<offline_uri>/part-<hash>.parquet`` holding the features plus
``write_time``, ``api_invocation_time`` and ``is_deleted`` (as in SageMaker's offline store).
The object name is a hash of the batch's content, so writing the same batch again (a retried
or re-run ingest) adds nothing; each object is written atomically, so readers never see part
of a batch. The folder is a catalog table (database ``sagebox_featurestore``) that
``sagebox sql`` queries by name.
"""

from __future__ import annotations

import hashlib
import io
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from sagebox.errors import AlreadyExistsError, NotFoundError

if TYPE_CHECKING:
    import pyarrow as pa

    from sagebox.backends.metadata import FeatureGroupRecord
    from sagebox.features.records import ValidBatch
    from sagebox.session import Session

__all__ = [
    "DATABASE",
    "SYSTEM_COLUMNS",
    "default_offline_uri",
    "offline_schema",
    "read_offline",
    "register_table",
    "table_name_for",
    "unregister_table",
    "write_offline_batch",
]

#: the catalog database holding one table per feature group
DATABASE = "sagebox_featurestore"
#: columns the offline store adds to every record
SYSTEM_COLUMNS = ("write_time", "api_invocation_time", "is_deleted")


def default_offline_uri(session: Session, name: str) -> str:
    """Where a group's offline store goes unless told otherwise."""
    return session.storage.url(f"feature-store/{name}/")


def table_name_for(name: str) -> str:
    """The catalog table (``database.table``) of feature group ``name``."""
    return f"{DATABASE}.{name.lower().replace('-', '_')}"


def offline_schema(record: FeatureGroupRecord) -> pa.Schema:
    """The Arrow schema of the group's offline Parquet objects."""
    import pyarrow as pa

    fields = [pa.field(d.name, d.arrow_type()) for d in record.features]
    stamp = pa.timestamp("us", tz="UTC")
    fields += [
        pa.field("write_time", stamp),
        pa.field("api_invocation_time", stamp),
        pa.field("is_deleted", pa.bool_()),
    ]
    return pa.schema(fields)


def write_offline_batch(
    session: Session,
    record: FeatureGroupRecord,
    batch: ValidBatch,
    deleted: bool = False,
    write_time: datetime | None = None,
) -> str | None:
    """Append ``batch`` to the offline store; return its key, or None if it was there already.

    Args:
        session: whose lake to write to.
        record: the feature group.
        batch: validated records.
        deleted: whether the records are deletion markers.
        write_time: the ``write_time`` to record (default now).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    key = f"{_folder(session, record)}/part-{_digest(batch.table, deleted)}.parquet"
    storage = session.storage
    if storage.exists(key):
        return None
    when = write_time or datetime.now(UTC)
    n = batch.table.num_rows
    stamps = pa.array([when] * n, type=pa.timestamp("us", tz="UTC"))
    table = batch.table.append_column("write_time", stamps)
    table = table.append_column("api_invocation_time", stamps)
    table = table.append_column("is_deleted", pa.array(np.full(n, deleted), type=pa.bool_()))
    buffer = io.BytesIO()
    pq.write_table(table.cast(offline_schema(record)), buffer, compression="snappy")
    storage.write_bytes(key, buffer.getvalue())
    return key


def _digest(table: pa.Table, deleted: bool) -> str:
    import pyarrow as pa

    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest = hashlib.sha256(sink.getvalue())
    digest.update(b"deleted" if deleted else b"record")
    return digest.hexdigest()[:24]


def _folder(session: Session, record: FeatureGroupRecord) -> str:
    return session.key_for(record.offline_uri).rstrip("/")


def offline_keys(session: Session, record: FeatureGroupRecord) -> list[str]:
    """The keys of the group's offline Parquet objects, sorted."""
    prefix = _folder(session, record) + "/"
    return [
        info.key
        for info in session.storage.list(prefix)
        if info.key.endswith(".parquet") and "/." not in info.key[len(prefix) - 1 :]
    ]


def read_offline(
    session: Session, record: FeatureGroupRecord, columns: list[str] | None = None
) -> pa.Table:
    """Every row of the offline store (all versions, deletion markers included).

    Args:
        session: whose lake to read.
        record: the feature group.
        columns: only these columns (default all).
    """
    import pyarrow.dataset as ds

    schema = offline_schema(record)
    keys = offline_keys(session, record)
    if not keys:
        table = schema.empty_table()
        return table.select(columns) if columns else table
    fs, root = session.storage.filesystem()
    paths = [f"{root.rstrip('/')}/{key}" for key in keys]
    dataset = ds.dataset(paths, schema=schema, format="parquet", filesystem=fs)
    return dataset.to_table(columns=columns)


def register_table(session: Session, record: FeatureGroupRecord) -> str:
    """Create the catalog table over the group's offline store; return its full name.

    Raises:
        AlreadyExistsError: if another table has the name (e.g. ``a-b`` and ``a_b``).
    """
    from sagebox.catalog import Column, Database, Table, split_table_name

    catalog = session.catalog
    database, name = split_table_name(record.table_name)
    with suppress(AlreadyExistsError):
        catalog.create_database(
            Database(database, description="feature groups' offline stores (sagebox features)")
        )
    columns = []
    for definition in record.features:
        kind, comment = definition.catalog_type()
        columns.append(Column(definition.name, kind, comment))
    columns += [
        Column("write_time", "timestamp", "when the record was written"),
        Column("api_invocation_time", "timestamp", "when the ingest was called"),
        Column("is_deleted", "boolean", "whether the row is a deletion marker"),
    ]
    try:
        catalog.create_table(
            Table(
                database=database,
                name=name,
                location=record.offline_uri,
                format="parquet",
                columns=columns,
                description=record.description,
                tags=dict(record.tags),
                parameters={
                    "feature_group": record.name,
                    "record_identifier_name": record.record_identifier_name,
                    "event_time_feature_name": record.event_time_feature_name,
                },
            )
        )
    except AlreadyExistsError as exc:
        raise AlreadyExistsError(
            f"the catalog already has a table {record.table_name} (feature group "
            f"{record.name!r} would use it)",
            hint="choose another feature group name, or drop that table",
        ) from exc
    return record.table_name


def unregister_table(session: Session, record: FeatureGroupRecord) -> None:
    """Drop the group's catalog table (the Parquet data stays in the lake)."""
    from sagebox.catalog import split_table_name

    database, name = split_table_name(record.table_name)
    with suppress(NotFoundError):
        session.catalog.delete_table(database, name)
