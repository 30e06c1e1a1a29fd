"""The object-store interface every storage backend implements.

Keys are ``/``-separated paths relative to the store's root URI (``file:///home/me/.sagebox/lake``
or ``s3://bucket/prefix``). Writes are atomic from a reader's point of view: a reader sees either
the old object or the complete new one, never a partial write.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["ObjectInfo", "ObjectStore"]


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: key (relative to the store root), size in bytes, mtime (epoch s)."""

    key: str
    size: int
    modified: float | None = None


class ObjectStore(abc.ABC):
    """A flat key → bytes store rooted at one URI.

    Example:
        >>> from sagebox.backends.storage import open_store
        >>> store = open_store("file:///tmp/lake")
        >>> store.write_bytes("raw/hello.txt", b"hi")
        >>> store.read_bytes("raw/hello.txt")
        b'hi'
    """

    #: root URI of the store, without a trailing slash
    uri: str

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """Return the object's content. Raises NotFoundError if there is no such key."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, replacing any old object."""

    @abc.abstractmethod
    def upload(self, local_path: Path, key: str) -> None:
        """Copy a local file to ``key`` atomically. Raises InputDataError if it does not exist."""

    @abc.abstractmethod
    def download(self, key: str, local_path: Path) -> Path:
        """Copy the object to ``local_path`` (parents created). Raises NotFoundError."""

    @abc.abstractmethod
    def read_versioned(self, key: str) -> tuple[bytes, str]:
        """The object's content and an opaque version token for :meth:`write_bytes_if`.

        The token is the ETag on S3 and a content hash locally. Raises NotFoundError.
        """

    @abc.abstractmethod
    def write_bytes_if(self, key: str, data: bytes, expected_version: str | None) -> bool:
        """Compare-and-set: store ``data`` only if ``key`` is still at ``expected_version``.

        ``expected_version`` is a token from :meth:`read_versioned`, or ``None`` for "only if no
        object is stored under ``key``". The check and the write are one atomic step against
        every other ``write_bytes_if`` of the key (a conditional PUT on S3, a lock file
        locally), so of two writers that read the same version only one succeeds.

        Returns:
            True if written; False if the object changed (or appeared) since that version.
        """

    def sweep_temp(
        self, prefix: str = "", older_than: float = 3600.0, *, dry_run: bool = False
    ) -> list[ObjectInfo]:
        """Remove the leftovers of killed writes under ``prefix`` untouched for ``older_than`` s.

        Temp files of interrupted uploads locally, incomplete multipart uploads on S3. A store
        whose writes leave nothing behind returns ``[]`` (the default).

        Returns:
            What was removed (or, with ``dry_run``, would be), keys relative to the root.
        """
        return []

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under exactly ``key``."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """All objects whose key starts with ``prefix``, sorted by key (recursive)."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object. Raises NotFoundError if there is no such key."""

    @abc.abstractmethod
    def filesystem(self) -> tuple[AbstractFileSystem, str]:
        """The fsspec filesystem and root path, for engines (DuckDB, pyarrow) that read directly."""

    def url(self, key: str) -> str:
        """Full URI of ``key`` (e.g. ``s3://bucket/prefix/key``)."""
        return f"{self.uri}/{key.lstrip('/')}"

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many were deleted."""
        infos = self.list(prefix)
        for info in infos:
            self.delete(info.key)
        return len(infos)
