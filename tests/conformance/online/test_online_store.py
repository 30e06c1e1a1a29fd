"""The shipped online-store suite on SQLite and Redis, plus opening online stores by URI."""

from __future__ import annotations

import pytest

from sagebox.backends.kv import open_online_store
from sagebox.errors import ConfigError
from sagebox.testing.online import OnlineStoreSuite, OpenOnline


class TestOnlineStore(OnlineStoreSuite):
    """The shipped suite, on each store of the ``online_uri`` fixture (conftest.py)."""

    @pytest.fixture()
    def open_online(self, online_uri: str) -> OpenOnline:
        return lambda: open_online_store(online_uri)


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="memcached"):
        open_online_store("memcached://localhost")
    with pytest.raises(ConfigError, match="no scheme"):
        open_online_store("localhost:6379")
