"""A crawl's catalog changes, held back and then committed in one transaction.

A crawl reads the catalog, samples files (the long part) and decides what to change; the
changes are recorded here instead of written, and :meth:`StagedCatalog.commit` applies them all
in one :meth:`~sagebox.backends.metadata.CatalogStore.transaction` at the end. A crawler killed
at any point leaves the catalog as it was before the crawl or as the complete crawl made it,
never a part; and the database's write lock is held only for the short commit, not while files
are sampled.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, suppress

from sagebox.backends.metadata import CatalogStore, Database, Partition, Table
from sagebox.errors import AlreadyExistsError

__all__ = ["StagedCatalog"]


class StagedCatalog(CatalogStore):
    """Reads go to ``catalog``; writes are recorded and applied by :meth:`commit`.

    The crawler never reads back what it wrote in the same crawl except a database it created,
    whose tables are then known to be none (:meth:`list_tables`).
    """

    def __init__(self, catalog: CatalogStore) -> None:
        self.catalog = catalog
        self._changes: list[Callable[[], object]] = []
        self._new_databases: set[str] = set()

    # reads: the catalog as it is
    def get_database(self, name: str) -> Database:
        return self.catalog.get_database(name)

    def list_databases(self) -> list[Database]:
        return self.catalog.list_databases()

    def get_table(self, database: str, name: str) -> Table:
        return self.catalog.get_table(database, name)

    def list_partitions(self, database: str, table: str) -> list[Partition]:
        return self.catalog.list_partitions(database, table)

    def transaction(self) -> AbstractContextManager[None]:
        return self.catalog.transaction()

    def list_tables(self, database: str | None = None) -> list[Table]:
        if database is not None and database.lower() in self._new_databases:
            return []
        return self.catalog.list_tables(database)

    def create_database(self, database: Database) -> Database:
        def create() -> None:
            with suppress(AlreadyExistsError):  # created meanwhile by someone else: use it
                self.catalog.create_database(database)

        self._new_databases.add(database.name.lower())
        self._changes.append(create)
        return database

    def update_database(self, database: Database) -> Database:
        self._changes.append(lambda: self.catalog.update_database(database))
        return database

    def delete_database(self, name: str, cascade: bool = False) -> None:
        self._changes.append(lambda: self.catalog.delete_database(name, cascade))

    # writes: recorded
    def create_table(self, table: Table) -> Table:
        self._changes.append(lambda: self.catalog.create_table(table))
        return table

    def update_table(self, table: Table) -> Table:
        self._changes.append(lambda: self.catalog.update_table(table))
        return table

    def delete_table(self, database: str, name: str) -> None:
        self._changes.append(lambda: self.catalog.delete_table(database, name))

    def put_partitions(self, database: str, table: str, partitions: list[Partition]) -> int:
        self._changes.append(lambda: self.catalog.put_partitions(database, table, partitions))
        return len({tuple(p.values) for p in partitions})

    def delete_partitions(self, database: str, table: str, values: list[list[str | None]]) -> int:
        self._changes.append(lambda: self.catalog.delete_partitions(database, table, values))
        return len(values)

    def commit(self) -> int:
        """Apply every recorded change in one transaction; return how many there were."""
        changes, self._changes = self._changes, []
        if changes:
            with self.catalog.transaction():
                for change in changes:
                    change()
        return len(changes)
