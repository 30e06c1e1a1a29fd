"""The catalog in the metadata database (SQLite or PostgreSQL), through SQLAlchemy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sagebox.backends.metadata._database import SqlDatabase
from sagebox.backends.metadata._orm_catalog import DatabaseRow, PartitionRow, TableRow
from sagebox.backends.metadata.catalog import (
    FORMATS,
    CatalogStore,
    Column,
    Database,
    Partition,
    Table,
    check_name,
)
from sagebox.backends.storage.hive import partition_dir
from sagebox.errors import AlreadyExistsError, InputDataError

__all__ = ["SqlCatalogStore"]


class SqlCatalogStore(CatalogStore):
    """The catalog's tables in the metadata database, migrated with the rest of its schema.

    A partition's key is its Hive folder (``k=v/k2=v2``, as the lake writes it), unique per
    table. See :class:`CatalogStore` for the contract.

    Args:
        url: the metadata URL (``sqlite:///...`` or ``postgresql://...``).

    Example:
        >>> store = SqlCatalogStore("sqlite:///:memory:")
        >>> store.create_database(Database("reviews")).name
        'reviews'
        >>> store.create_table(Table("reviews", "raw", "file:///lake/raw", "csv")).full_name
        'reviews.raw'
    """

    def __init__(self, url: str) -> None:
        self._db = SqlDatabase(url)
        self._local = threading.local()  # the open transaction() session of each thread

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "session", None) is not None:
            yield  # nested: part of the outer block
            return
        with self._db.session(write=True) as session:
            self._local.session = session
            try:
                yield
            finally:
                self._local.session = None

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        """A transaction of its own, or a savepoint in the thread's open transaction()."""
        outer: Session | None = getattr(self._local, "session", None)
        if outer is None:
            with self._db.session(write=write) as session:
                yield session
            return
        with self._db.unavailable_as_error(), outer.begin_nested():
            yield outer

    def __repr__(self) -> str:
        return f"SqlCatalogStore({self._db.masked_url!r})"

    # databases
    def create_database(self, database: Database) -> Database:
        row = DatabaseRow(
            name=check_name("database", database.name),
            description=database.description or "",
            location=database.location,
            parameters=dict(database.parameters),
            created_at=database.created_at or _now(),
        )
        try:
            with self._session(write=True) as session:
                session.add(row)
                session.flush()
                return _database(row)
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"a database named {row.name!r} already exists",
                hint="choose another name (list them with `sagebox catalog databases list`)",
            ) from exc

    def get_database(self, name: str) -> Database:
        with self._session() as session:
            return _database(self._database_row(session, name))

    def list_databases(self) -> list[Database]:
        with self._session() as session:
            rows = session.scalars(select(DatabaseRow).order_by(DatabaseRow.name))
            return [_database(row) for row in rows]

    def update_database(self, database: Database) -> Database:
        with self._session(write=True) as session:
            row = self._database_row(session, database.name)
            row.description = database.description or ""
            row.location = database.location
            row.parameters = dict(database.parameters)
            session.flush()
            return _database(row)

    def delete_database(self, name: str, cascade: bool = False) -> None:
        with self._session(write=True) as session:
            row = self._database_row(session, name)
            tables = list(session.scalars(select(TableRow).where(TableRow.database_id == row.id)))
            if tables and not cascade:
                raise InputDataError(
                    f"database {row.name!r} still has {len(tables)} table(s)",
                    hint="delete them first, or delete with cascade (--cascade); data in the "
                    "lake is never deleted",
                )
            for table in tables:
                session.execute(delete(PartitionRow).where(PartitionRow.table_id == table.id))
            session.execute(delete(TableRow).where(TableRow.database_id == row.id))
            session.delete(row)

    # tables
    def create_table(self, table: Table) -> Table:
        _check_table(table)
        now = _now()
        try:
            with self._session(write=True) as session:
                db = self._database_row(session, table.database)
                row = TableRow(database_id=db.id, name=check_name("table", table.name))
                _fill(row, table)
                row.created_at = table.created_at or now
                row.updated_at = now
                session.add(row)
                session.flush()
                return _table(row, db.name)
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"a table named {table.database.lower()}.{table.name.lower()} already exists",
                hint="choose another name, or update it (`sagebox catalog tables update`)",
            ) from exc

    def get_table(self, database: str, name: str) -> Table:
        with self._session() as session:
            row, db_name = self._table_row(session, database, name)
            return _table(row, db_name)

    def list_tables(self, database: str | None = None) -> list[Table]:
        stmt = (
            select(TableRow, DatabaseRow.name)
            .join(DatabaseRow, TableRow.database_id == DatabaseRow.id)
            .order_by(DatabaseRow.name, TableRow.name)
        )
        with self._session() as session:
            if database is not None:
                db = self._database_row(session, database)
                stmt = stmt.where(TableRow.database_id == db.id)
            return [_table(row, db_name) for row, db_name in session.execute(stmt)]

    def update_table(self, table: Table) -> Table:
        _check_table(table)
        with self._session(write=True) as session:
            row, db_name = self._table_row(session, table.database, table.name, for_update=True)
            _fill(row, table)
            row.updated_at = _now()
            session.flush()
            return _table(row, db_name)

    def delete_table(self, database: str, name: str) -> None:
        with self._session(write=True) as session:
            row, _ = self._table_row(session, database, name)
            session.execute(delete(PartitionRow).where(PartitionRow.table_id == row.id))
            session.delete(row)

    # partitions
    def put_partitions(self, database: str, table: str, partitions: list[Partition]) -> int:
        added = 0
        with self._session(write=True) as session:
            row, _ = self._table_row(session, database, table)
            keys = [c["name"] for c in row.partition_keys]
            existing = {
                p.spec: p
                for p in session.scalars(
                    select(PartitionRow).where(PartitionRow.table_id == row.id)
                )
            }
            for partition in partitions:
                if len(partition.values) != len(keys):
                    raise InputDataError(
                        f"partition {partition.values!r} of {row.name!r} needs one value per "
                        f"partition key ({', '.join(keys) or 'none'})",
                        hint="give the values in partition-key order",
                    )
                spec = partition_dir(keys, list(partition.values))
                target = existing.get(spec)
                if target is None:
                    target = PartitionRow(table_id=row.id, spec=spec, created_at=_now())
                    session.add(target)
                    existing[spec] = target
                    added += 1
                target.values = list(partition.values)
                target.location = partition.location
                target.row_count = partition.row_count
                target.parameters = dict(partition.parameters)
        return added

    def list_partitions(self, database: str, table: str) -> list[Partition]:
        with self._session() as session:
            row, db_name = self._table_row(session, database, table)
            stmt = (
                select(PartitionRow)
                .where(PartitionRow.table_id == row.id)
                .order_by(PartitionRow.spec)
            )
            return [_partition(p, db_name, row.name) for p in session.scalars(stmt)]

    def delete_partitions(self, database: str, table: str, values: list[list[str | None]]) -> int:
        with self._session(write=True) as session:
            row, _ = self._table_row(session, database, table)
            keys = [c["name"] for c in row.partition_keys]
            specs = [partition_dir(keys, list(v)) for v in values if len(v) == len(keys)]
            if not specs:
                return 0
            result = session.execute(
                delete(PartitionRow).where(
                    PartitionRow.table_id == row.id, PartitionRow.spec.in_(specs)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def close(self) -> None:
        self._db.close()

    # helpers
    def _database_row(self, session: Session, name: str) -> DatabaseRow:
        lowered = name.strip().lower()
        row = session.scalars(select(DatabaseRow).where(DatabaseRow.name == lowered)).one_or_none()
        if row is None:
            known = list(session.scalars(select(DatabaseRow.name).order_by(DatabaseRow.name)))
            raise self.missing_database(lowered, known)
        return row

    def _table_row(
        self, session: Session, database: str, name: str, *, for_update: bool = False
    ) -> tuple[TableRow, str]:
        db_name, table_name = database.strip().lower(), name.strip().lower()
        stmt = (
            select(TableRow)
            .join(DatabaseRow, TableRow.database_id == DatabaseRow.id)
            .where(DatabaseRow.name == db_name, TableRow.name == table_name)
        )
        if for_update:
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).one_or_none()
        if row is None:
            names = session.execute(
                select(DatabaseRow.name, TableRow.name)
                .join(DatabaseRow, TableRow.database_id == DatabaseRow.id)
                .order_by(DatabaseRow.name, TableRow.name)
            )
            raise self.missing_table(db_name, table_name, [f"{d}.{t}" for d, t in names])
        return row, db_name


def _check_table(table: Table) -> None:
    if table.format not in FORMATS:
        raise InputDataError(
            f"unknown table format {table.format!r}", hint=f"use one of: {', '.join(FORMATS)}"
        )
    names = [c.name for c in table.all_columns()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputDataError(
            f"table {table.name!r} has duplicate column(s) {', '.join(duplicates)}",
            hint="column and partition-key names must be unique",
        )
    if not table.location:
        raise InputDataError(f"table {table.name!r} has no location", hint="give its lake URI")


def _fill(row: TableRow, table: Table) -> None:
    row.location = table.location
    row.format = table.format
    row.serde = dict(table.serde)
    row.columns = [_column_dict(c) for c in table.columns]
    row.partition_keys = [_column_dict(c) for c in table.partition_keys]
    row.row_count = table.row_count
    row.description = table.description or ""
    row.tags = {str(k): str(v) for k, v in table.tags.items()}
    row.parameters = dict(table.parameters)


def _column_dict(column: Column) -> dict[str, Any]:
    return {"name": column.name, "type": column.type, "comment": column.comment}


def _columns(values: list[dict[str, Any]]) -> list[Column]:
    return [Column(v["name"], v["type"], v.get("comment", "")) for v in values]


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _database(row: DatabaseRow) -> Database:
    return Database(
        name=row.name,
        description=row.description,
        location=row.location,
        parameters=dict(row.parameters),
        created_at=_utc(row.created_at),
    )


def _table(row: TableRow, database: str) -> Table:
    return Table(
        database=database,
        name=row.name,
        location=row.location,
        format=row.format,
        columns=_columns(row.columns),
        partition_keys=_columns(row.partition_keys),
        serde=dict(row.serde),
        row_count=row.row_count,
        description=row.description,
        tags=dict(row.tags),
        parameters=dict(row.parameters),
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
    )


def _partition(row: PartitionRow, database: str, table: str) -> Partition:
    return Partition(
        database=database,
        table=table,
        values=list(row.values),
        location=row.location,
        row_count=row.row_count,
        parameters=dict(row.parameters),
        created_at=_utc(row.created_at),
    )
