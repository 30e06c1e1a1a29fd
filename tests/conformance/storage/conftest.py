"""Fixtures of the object-store conformance suite: one empty store per test and backend."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from sagebox.backends.storage import ObjectStore, open_store
from sagebox.config import Settings
from tests.fixtures.s3 import s3_server  # noqa: F401

BACKENDS = ["file", pytest.param("s3", marks=pytest.mark.integration)]


def s3_settings(endpoint_url: str, tmp_path: Path, storage_uri: str) -> Settings:
    """Settings pointing at the test S3 server."""
    return Settings(
        home=tmp_path / "sbhome",
        storage_uri=storage_uri,
        metadata_uri=f"sqlite:///{tmp_path / 'sbhome' / 'sagebox.db'}",
        s3_endpoint_url=endpoint_url,
    )


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """An empty store: a fresh local directory, or a fresh bucket and prefix on moto."""
    if request.param == "file":
        return open_store(f"file://{tmp_path / 'lake'}")
    endpoint_url: str = request.getfixturevalue("s3_server")
    uri = f"s3://sbtest-{uuid.uuid4().hex[:12]}/lake"
    opened = open_store(uri, settings=s3_settings(endpoint_url, tmp_path, uri))
    opened.ensure_bucket()  # type: ignore[attr-defined]
    return opened
