"""Fixtures of the online-store conformance suite: one empty store per test and backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.redis import redis_server, redis_url  # noqa: F401

BACKENDS = ["sqlite", pytest.param("redis", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def online_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of an empty online store: a fresh SQLite file, or an emptied Redis server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'online.db'}"
    return str(request.getfixturevalue("redis_url"))
