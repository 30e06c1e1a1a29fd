"""The cluster profile for the tests of ``tests/cluster``: S3, PostgreSQL and two-node Ray.

``cluster_session`` is a :class:`~sagebox.session.Session` whose lake is a fresh bucket on the
session's moto S3 server, whose metadata store is a fresh PostgreSQL database and whose compute
backend is the session's two-node Ray cluster (``tests/fixtures/ray.py``, registered in the
root conftest: one cluster for the whole run). The same settings are in the environment, as a
user's profile would put them, and the submitter's ``SAGEBOX_HOME`` is the test's own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.session import Session
from tests.fixtures.postgres import PostgresServer, postgres_server  # noqa: F401
from tests.fixtures.ray import RayCluster
from tests.fixtures.s3 import s3_server  # noqa: F401


@pytest.fixture()
def cluster_session(
    sagebox_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: str,  # noqa: F811
    postgres_server: PostgresServer,  # noqa: F811
    ray_cluster: RayCluster,
) -> Iterator[Session]:
    """The cluster profile on a fresh bucket and database (see the module)."""
    suffix = secrets.token_hex(4)
    monkeypatch.setenv("SAGEBOX_STORAGE_URI", f"s3://sb-cluster-{suffix}/lake")
    monkeypatch.setenv("SAGEBOX_S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv(
        "SAGEBOX_METADATA_URI", postgres_server.create_database(f"sb_cluster_{suffix}")
    )
    monkeypatch.setenv("SAGEBOX_COMPUTE", ray_cluster.uri)
    session = Session()
    session.storage.ensure_bucket()  # type: ignore[attr-defined]
    yield session
