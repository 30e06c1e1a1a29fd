from __future__ import annotations

from tests.fixtures.lake import lake_session, s3_server  # noqa: F401
