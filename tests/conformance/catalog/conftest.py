"""Fixtures of the catalog conformance suite: one fresh database per test and backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagebox.catalog import CatalogStore, open_catalog_store
from tests.conformance.metadata.conftest import metadata_uri  # noqa: F401
from tests.fixtures.postgres import postgres_server  # noqa: F401


@pytest.fixture()
def catalog(metadata_uri: str) -> Iterator[CatalogStore]:  # noqa: F811
    """An opened (migrated) catalog on an empty database."""
    opened = open_catalog_store(metadata_uri)
    yield opened
    opened.close()
