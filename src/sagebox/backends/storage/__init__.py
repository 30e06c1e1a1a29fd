"""Object stores chosen by URI scheme: ``file://`` (default, or a bare path) and ``s3://``.

Backends are registered by scheme in :data:`STORES` and imported only when first used, so the
``s3`` extra (s3fs) is needed only by those who open an ``s3://`` store.

Example:
    >>> from sagebox.backends.storage import open_store
    >>> store = open_store("/tmp/lake")  # same as "file:///tmp/lake"
    >>> store.write_bytes("raw/hello.txt", b"hi")
    >>> store.list("raw/")[0].key
    'raw/hello.txt'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sagebox._registry import BackendRegistry
from sagebox.backends.storage.base import ObjectInfo, ObjectStore
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    from sagebox.config import Settings

__all__ = ["STORES", "ObjectInfo", "ObjectStore", "normalize_key", "open_store", "open_store_for"]

#: URI scheme → object-store class; plugins add more (entry-point group sagebox.backends.storage).
STORES: BackendRegistry[ObjectStore] = BackendRegistry("storage", group="sagebox.backends.storage")
STORES.register("file", "sagebox.backends.storage.local:LocalObjectStore")
STORES.register("s3", "sagebox.backends.storage.s3:S3ObjectStore")


def open_store(uri: str, settings: Settings | None = None) -> ObjectStore:
    """Open the object store rooted at ``uri``.

    Args:
        uri: ``file:///abs/path``, a bare (absolute or relative) path, or ``s3://bucket/prefix``.
        settings: used by backends that need more than the URI (S3 endpoint and region);
            ``None`` loads them from the environment and ``sagebox.toml`` when needed.

    Returns:
        The store; nothing is created or contacted until it is used.

    Raises:
        ConfigError: if the scheme is unknown (the message lists the known ones) or its
            package (e.g. s3fs) is not installed.
    """
    if "://" not in uri:
        uri = "file://" + os.path.abspath(os.path.expanduser(uri))
    return STORES.open(uri, settings=settings)


def open_store_for(uri: str, settings: Settings | None = None) -> tuple[ObjectStore, str]:
    """Open the store rooted at the parent of an object's URI, and return it with the key.

    Example:
        >>> store, key = open_store_for("file:///tmp/lake/raw/reviews.csv")
        >>> store.uri, key
        ('file:///tmp/lake/raw', 'reviews.csv')

    Raises:
        InputDataError: if ``uri`` names no object (e.g. ``s3://bucket`` or a trailing ``/``).
        ConfigError: as :func:`open_store`.
    """
    if "://" not in uri:
        uri = "file://" + os.path.abspath(os.path.expanduser(uri))
    scheme, _, path = uri.partition("://")
    parent, _, key = path.rpartition("/")
    if not key or (scheme.lower() != "file" and not parent):
        raise InputDataError(
            f"{uri!r} does not name an object", hint="give the full URI of one file or object"
        )
    if scheme.lower() == "file":
        parent = parent or "/"
    return open_store(f"{scheme}://{parent}", settings=settings), key


def normalize_key(key: str, *, prefix: bool = False) -> str:
    """Check a key (or a list prefix) and return it in canonical form.

    Leading slashes and empty or ``.`` segments are dropped, so ``"/a//./b"`` is ``"a/b"``; a
    prefix keeps its trailing slash (``"raw/"`` does not match ``"raw2/x"``).

    Raises:
        InputDataError: if the key is empty or has a ``..`` segment (it would escape the root).
    """
    parts = [part for part in key.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InputDataError(
            f"key {key!r} escapes the store root", hint="use a relative key without '..'"
        )
    if not parts and not prefix:
        raise InputDataError(f"empty object key {key!r}", hint="give a key such as 'raw/data.csv'")
    normal = "/".join(parts)
    return normal + "/" if prefix and normal and key.endswith("/") else normal
