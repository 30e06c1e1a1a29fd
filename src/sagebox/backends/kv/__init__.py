"""Online feature stores chosen by URI scheme: ``sqlite:///path`` (default) or ``redis://``.

Example:
    >>> from sagebox.backends.kv import open_online_store
    >>> store = open_online_store("sqlite:///:memory:")
    >>> store.count("reviews")
    0
"""

from __future__ import annotations

from sagebox._registry import BackendRegistry
from sagebox.backends.kv.base import OnlineRecord, OnlineStore

__all__ = ["ONLINE_STORES", "OnlineRecord", "OnlineStore", "open_online_store"]

ONLINE_STORES: BackendRegistry[OnlineStore] = BackendRegistry(
    "online store", group="sagebox.backends.kv"
)
"""URI scheme → online store class (called with the URI); plugins add more (entry points)."""
ONLINE_STORES.register("sqlite", "sagebox.backends.kv.sqlite:SqliteOnlineStore")
ONLINE_STORES.register("redis", "sagebox.backends.kv.redis:RedisOnlineStore")
ONLINE_STORES.register("rediss", "sagebox.backends.kv.redis:RedisOnlineStore")


def open_online_store(uri: str) -> OnlineStore:
    """Open the online store at ``uri``.

    Args:
        uri: ``sqlite:///path/to/online.db``, ``sqlite:///:memory:`` or
            ``redis://[:password@]host:port/db``.

    Raises:
        ConfigError: if the scheme is unknown or its package (redis) is not installed.
        ServiceUnavailableError: if a Redis server cannot be reached.
    """
    return ONLINE_STORES.open(uri)
