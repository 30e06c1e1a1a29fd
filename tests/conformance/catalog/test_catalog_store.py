"""The CatalogStore contract (and the query history), on SQLite and on a real PostgreSQL.

The contract's checks live in :mod:`sagebox.testing.catalog`; this file runs them on the SQL
stores and adds what only the SQL catalog has: it shares the metadata database.
"""

from __future__ import annotations

import pytest

from sagebox.backends.metadata import open_metadata_store, open_query_history
from sagebox.catalog import Database, open_catalog_store
from sagebox.errors import ConfigError
from sagebox.testing.catalog import (
    CatalogStoreSuite,
    OpenCatalog,
    OpenQueryHistory,
    QueryHistorySuite,
)


class TestSqlCatalogStore(CatalogStoreSuite):
    """The shipped catalog suite (:mod:`sagebox.testing.catalog`) on SQLite and PostgreSQL."""

    @pytest.fixture()
    def open_catalog(self, metadata_uri: str) -> OpenCatalog:
        return lambda: open_catalog_store(metadata_uri)


class TestSqlQueryHistory(QueryHistorySuite):
    """The shipped query-history suite on SQLite and PostgreSQL."""

    @pytest.fixture()
    def open_query_history(self, metadata_uri: str) -> OpenQueryHistory:
        return lambda: open_query_history(metadata_uri)


def test_catalog_shares_the_metadata_database(metadata_uri: str) -> None:
    metadata = open_metadata_store(metadata_uri)
    first = open_catalog_store(metadata_uri)
    first.create_database(Database("reviews"))
    first.close()
    second = open_catalog_store(metadata_uri)
    assert [d.name for d in second.list_databases()] == ["reviews"]
    assert metadata.list_jobs() == []
    second.close()
    metadata.close()


def test_unknown_scheme() -> None:
    with pytest.raises(ConfigError, match="mongodb"):
        open_catalog_store("mongodb://x/y")
    with pytest.raises(ConfigError, match="no scheme"):
        open_catalog_store("just-a-path.db")
