from __future__ import annotations

from tests.fixtures.lake import lake_session, s3_server  # noqa: F401
from tests.fixtures.postgres import postgres_server, postgres_url  # noqa: F401
