"""The data catalog (the Glue Data Catalog equivalent) and its crawler.

The catalog's interface and record types belong to the metadata backends
(:mod:`sagebox.backends.metadata.catalog`, whose SQL store keeps them in the metadata
database); they are re-exported here. ``Session().catalog`` is the catalog of the session's
metadata database.

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

from sagebox.backends.metadata import (
    CATALOG_STORES,
    FORMATS,
    CatalogStore,
    Column,
    Database,
    Partition,
    Table,
    check_name,
    open_catalog_store,
    split_table_name,
)

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
