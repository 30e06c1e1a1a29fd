"""Fixtures of the catalog conformance suite: one fresh database per test and backend."""

from __future__ import annotations

from tests.conformance.metadata.conftest import metadata_uri  # noqa: F401
from tests.fixtures.postgres import postgres_server  # noqa: F401
