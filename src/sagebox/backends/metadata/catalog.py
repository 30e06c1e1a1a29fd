"""The data-catalog interface (the Glue Data Catalog equivalent): databases, tables, partitions.

A *database* groups tables. A *table* describes a dataset in the lake: where it is
(``location``), how its files are encoded (``format`` and ``serde`` options), its columns and
partition keys with their types, a row-count estimate, a description and tags. A *partition*
is one Hive folder of a partitioned table (``product_category=Dresses/``).

Names are case-insensitive and stored in lower case: letters, digits and ``_``, starting with
a letter or ``_`` (as in Glue and Athena).

The store's contract, which :mod:`sagebox.testing.catalog` checks:

- every method that takes names accepts them in any case; an invalid name raises
  :class:`~sagebox.errors.InputDataError` naming it;
- a missing database or table raises :class:`~sagebox.errors.NotFoundError` whose hint suggests
  close names (:meth:`CatalogStore.missing_table`, :meth:`CatalogStore.missing_database`); a
  taken name raises :class:`~sagebox.errors.AlreadyExistsError`;
- a table has a known ``format`` (:data:`FORMATS`), a location and unique column names, or it
  is refused with ``InputDataError``; updating it keeps its name and ``created_at``;
- partitions are keyed by their values (one per partition key): putting a partition with the
  same values replaces it, deleting a table deletes its partitions, and deleting a database
  that still has tables needs ``cascade``; data in the lake is never touched;
- timestamps come back timezone-aware in UTC.

Implementations: SQL (:class:`~sagebox.backends.metadata.sql_catalog.SqlCatalogStore`, tables
``catalog_*`` of the metadata database).
"""

from __future__ import annotations

import abc
import difflib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagebox.errors import InputDataError, NotFoundError
from sagebox.names import CATALOG

__all__ = [
    "FORMATS",
    "CatalogStore",
    "Column",
    "Database",
    "Partition",
    "Table",
    "check_name",
    "split_table_name",
]

#: file formats a table may have
FORMATS = ("csv", "json", "parquet")


def check_name(kind: str, name: str) -> str:
    """``name`` in lower case, if it is a valid database or table name.

    Raises:
        InputDataError: naming the bad value and the rule.
    """
    lowered = name.strip().lower()
    if not CATALOG.matches(lowered):
        raise InputDataError(
            f"invalid {kind} name {name!r}", hint=f"use {CATALOG.text}, e.g. {CATALOG.example}"
        )
    return lowered


def split_table_name(name: str, default_database: str | None = None) -> tuple[str, str]:
    """``"db.table"`` → ``("db", "table")``; a bare name takes ``default_database``.

    Raises:
        InputDataError: if there is no database part and no default, or a part is invalid.
    """
    database, sep, table = name.strip().rpartition(".")
    if not sep:
        if default_database is None:
            raise InputDataError(
                f"table name {name!r} has no database",
                hint="write it as database.table, e.g. reviews.raw",
            )
        database = default_database
    return check_name("database", database), check_name("table", table)


@dataclass
class Column:
    """A column: its name, type (``bigint``, ``double``, ``string``, ...) and a comment."""

    name: str
    type: str
    comment: str = ""


@dataclass
class Database:
    """A namespace of tables.

    Example:
        >>> Database(name="reviews", description="customer reviews")
        Database(name='reviews', description='customer reviews', ...)
    """

    name: str
    description: str = ""
    location: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass
class Table:
    """A dataset in the lake, as the catalog knows it.

    Attributes:
        database: the database's name.
        name: the table's name.
        location: URI of the dataset folder (or single object).
        format: ``csv``, ``json`` (lines) or ``parquet``.
        columns: data columns in file order (partition keys not included).
        partition_keys: the Hive partition columns, outermost first.
        serde: how to read the files: ``delimiter``, ``header``, ``compression`` ...
        row_count: an estimate of the number of rows, if known.
        description: free text.
        tags: user labels.
        parameters: bookkeeping, e.g. ``crawler_root``, ``deprecated``, ``union_by_name``.

    Example:
        >>> Table(database="reviews", name="raw", location="s3://lake/raw/reviews",
        ...       format="csv", columns=[Column("Rating", "bigint")]).full_name
        'reviews.raw'
    """

    database: str
    name: str
    location: str
    format: str
    columns: list[Column] = field(default_factory=list)
    partition_keys: list[Column] = field(default_factory=list)
    serde: dict[str, Any] = field(default_factory=dict)
    row_count: int | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def full_name(self) -> str:
        """``database.name``."""
        return f"{self.database}.{self.name}"

    @property
    def deprecated(self) -> bool:
        """Whether a crawler marked the table deprecated (its data vanished)."""
        return bool(self.parameters.get("deprecated"))

    def all_columns(self) -> list[Column]:
        """Data columns, then partition keys (the order SQL shows them in)."""
        return [*self.columns, *self.partition_keys]


@dataclass
class Partition:
    """One partition of a table: its values (in partition-key order) and folder.

    Example:
        >>> Partition(database="reviews", table="raw", values=["Dresses"],
        ...           location="s3://lake/raw/reviews/product_category=Dresses")
        Partition(database='reviews', table='raw', values=['Dresses'], ...)
    """

    database: str
    table: str
    values: list[str | None]
    location: str
    row_count: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


class CatalogStore(abc.ABC):
    """Persistent catalog of databases, tables and partitions.

    Every method that takes names accepts them in any case. Missing names raise
    :class:`~sagebox.errors.NotFoundError` whose hint suggests close names.

    Example:
        >>> from sagebox.backends.metadata import open_catalog_store
        >>> catalog = open_catalog_store("sqlite:///:memory:")
        >>> catalog.create_database(Database("reviews")).name
        'reviews'
    """

    # databases
    @abc.abstractmethod
    def create_database(self, database: Database) -> Database:
        """Create a database. Raises AlreadyExistsError."""

    @abc.abstractmethod
    def get_database(self, name: str) -> Database:
        """Return one database. Raises NotFoundError."""

    @abc.abstractmethod
    def list_databases(self) -> list[Database]:
        """All databases, by name."""

    @abc.abstractmethod
    def update_database(self, database: Database) -> Database:
        """Replace a database's description, location and parameters. Raises NotFoundError."""

    @abc.abstractmethod
    def delete_database(self, name: str, cascade: bool = False) -> None:
        """Delete a database (and, with ``cascade``, its tables); data is never touched.

        Raises:
            NotFoundError: no such database.
            InputDataError: it still has tables and ``cascade`` is False.
        """

    # tables
    @abc.abstractmethod
    def create_table(self, table: Table) -> Table:
        """Create a table. Raises NotFoundError (database) or AlreadyExistsError."""

    @abc.abstractmethod
    def get_table(self, database: str, name: str) -> Table:
        """Return one table. Raises NotFoundError, suggesting close names."""

    @abc.abstractmethod
    def list_tables(self, database: str | None = None) -> list[Table]:
        """Tables of one database (or of all), by database and name."""

    @abc.abstractmethod
    def update_table(self, table: Table) -> Table:
        """Replace everything but the name and ``created_at``. Raises NotFoundError."""

    @abc.abstractmethod
    def delete_table(self, database: str, name: str) -> None:
        """Delete a table and its partitions (not its data). Raises NotFoundError."""

    # partitions
    @abc.abstractmethod
    def put_partitions(self, database: str, table: str, partitions: list[Partition]) -> int:
        """Add partitions, replacing those with the same values; return how many are new.

        Raises:
            NotFoundError: no such table.
            InputDataError: a partition has not one value per partition key.
        """

    @abc.abstractmethod
    def list_partitions(self, database: str, table: str) -> list[Partition]:
        """A table's partitions, sorted by values. Raises NotFoundError."""

    @abc.abstractmethod
    def delete_partitions(self, database: str, table: str, values: list[list[str | None]]) -> int:
        """Delete the partitions with these values; return how many existed."""

    # atomic groups of changes
    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Make the changes inside the ``with`` block one atomic change of the catalog.

        All are committed when the block ends; none if it raises or the process dies before.
        Reads in the block (same thread) see the block's changes; other readers see the
        catalog as it was until the end. A method that raises inside the block (e.g.
        :class:`~sagebox.errors.AlreadyExistsError`) undoes only its own change, so the
        caller may handle it and go on. Blocks may nest (an inner block joins the outer one).

        Example:
            >>> from sagebox.backends.metadata import open_catalog_store
            >>> catalog = open_catalog_store("sqlite:///:memory:")
            >>> with catalog.transaction():
            ...     _ = catalog.create_database(Database("a"))
            ...     _ = catalog.create_database(Database("b"))
            >>> [d.name for d in catalog.list_databases()]
            ['a', 'b']
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # shared helpers
    def table_names(self) -> list[str]:
        """Every ``database.table`` name."""
        return [t.full_name for t in self.list_tables()]

    def missing_table(
        self, database: str, name: str, known: list[str] | None = None
    ) -> NotFoundError:
        """The error for a table that does not exist, with close names as the hint.

        Args:
            database: the database asked for.
            name: the table asked for.
            known: every ``database.table`` name (listed from the store if None).
        """
        wanted = f"{database}.{name}"
        known = self.table_names() if known is None else known
        close = _close_tables(database, name, known)
        if close:
            hint = f"did you mean {' or '.join(close)}?"
        elif known:
            hint = f"known tables: {', '.join(known[:10])}"
        else:
            hint = (
                "the catalog has no tables yet: crawl data with `sagebox crawl URI --database DB`"
            )
        return NotFoundError(f"no table {wanted!r} in the catalog", hint=hint)

    def missing_database(self, name: str, known: list[str] | None = None) -> NotFoundError:
        """The error for a database that does not exist, with close names as the hint."""
        known = [d.name for d in self.list_databases()] if known is None else known
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        if close:
            hint = f"did you mean {' or '.join(close)}?"
        elif known:
            hint = f"known databases: {', '.join(known[:10])}"
        else:
            hint = "create one with `sagebox catalog databases create NAME` or crawl data into it"
        return NotFoundError(f"no database {name!r} in the catalog", hint=hint)


def _close_tables(database: str, name: str, known: list[str]) -> list[str]:
    """Up to three known ``db.table`` names like the one asked for, the table part weighing most."""
    scored = []
    for candidate in known:
        db, _, table = candidate.partition(".")
        table_ratio = difflib.SequenceMatcher(None, name, table).ratio()
        db_ratio = difflib.SequenceMatcher(None, database, db).ratio()
        if table_ratio >= 0.6:
            scored.append((0.75 * table_ratio + 0.25 * db_ratio, candidate))
    scored.sort(key=lambda pair: -pair[0])
    return [candidate for score, candidate in scored[:3] if score >= 0.6]
