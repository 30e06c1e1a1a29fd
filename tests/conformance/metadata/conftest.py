"""Fixtures of the metadata-store conformance suite: one fresh database per test and backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.backends.metadata import MetadataStore, open_metadata_store
from tests.fixtures.postgres import PostgresServer, postgres_server, postgres_url  # noqa: F401

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def metadata_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URI of an empty database: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'sagebox.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture()
def store(metadata_uri: str) -> Iterator[MetadataStore]:
    """An opened (migrated) store on an empty database."""
    opened = open_metadata_store(metadata_uri)
    yield opened
    opened.close()
