"""The data catalog (the Glue Data Catalog equivalent) and its crawler.

Example:
    >>> from sagebox.catalog import Column, Database, Table, open_catalog_store
    >>> catalog = open_catalog_store("sqlite:///:memory:")
    >>> _ = catalog.create_database(Database("reviews"))
    >>> table = catalog.create_table(
    ...     Table("reviews", "raw", "file:///lake/raw/reviews", "csv", [Column("Rating", "bigint")])
    ... )
    >>> catalog.get_table("reviews", "raw").columns[0].type
    'bigint'
"""

from __future__ import annotations

from sagebox._registry import Registry
from sagebox.catalog.base import (
    FORMATS,
    CatalogStore,
    Column,
    Database,
    Partition,
    Table,
    check_name,
    split_table_name,
)
from sagebox.errors import ConfigError

__all__ = [
    "CATALOG_STORES",
    "FORMATS",
    "CatalogStore",
    "Column",
    "Database",
    "Partition",
    "Table",
    "check_name",
    "open_catalog_store",
    "split_table_name",
]

CATALOG_STORES: Registry[CatalogStore] = Registry("catalog store URI scheme")
"""Metadata URI scheme → catalog store class; third parties may register more."""

for _scheme in ("sqlite", "postgresql", "postgres"):
    CATALOG_STORES.register(_scheme, "sagebox.catalog.sql_store:SqlCatalogStore")


def open_catalog_store(uri: str) -> CatalogStore:
    """Open the catalog kept in the metadata database at ``uri`` (migrating it if needed).

    Raises:
        ConfigError: unknown scheme or malformed URI.
        ServiceUnavailableError: the database cannot be reached.
    """
    scheme, sep, _ = uri.partition("://")
    if not sep:
        raise ConfigError(
            f"the metadata URI {uri!r} has no scheme",
            hint=f"start it with one of: {', '.join(f'{n}://' for n in CATALOG_STORES.names())}",
        )
    return CATALOG_STORES.get(scheme.split("+", 1)[0].lower())(uri)
