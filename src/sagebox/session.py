"""A :class:`Session` bundles the settings with the backends they select, opened lazily."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sagebox.config import Settings, load_settings

if TYPE_CHECKING:
    from sagebox.backends.compute import ComputeBackend
    from sagebox.backends.metadata import CatalogStore, MetadataStore
    from sagebox.backends.storage import ObjectStore

__all__ = ["Session"]


class Session:
    """Settings plus the storage, metadata, catalog and compute backends they name.

    Backends are opened on first use, so creating a session is cheap.

    Example:
        >>> session = Session()
        >>> session.storage.write_bytes("notes/hello.txt", b"hi")
        >>> session.metadata.list_jobs()
        []
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()

    @cached_property
    def storage(self) -> ObjectStore:
        """The data lake (``settings.storage_uri``)."""
        from sagebox.backends.storage import open_store

        return open_store(self.settings.storage_uri, self.settings)

    @cached_property
    def metadata(self) -> MetadataStore:
        """The metadata store (``settings.metadata_uri``)."""
        from sagebox.backends.metadata import open_metadata_store

        return open_metadata_store(self.settings.metadata_uri)

    @cached_property
    def catalog(self) -> CatalogStore:
        """The data catalog, kept in the metadata database (``settings.metadata_uri``)."""
        from sagebox.backends.metadata import open_catalog_store

        return open_catalog_store(self.settings.metadata_uri)

    @cached_property
    def compute(self) -> ComputeBackend:
        """The compute backend (``settings.compute``)."""
        from sagebox.backends.compute import open_compute

        return open_compute(self.settings.compute)

    def key_for(self, uri: str) -> str:
        """The lake key of ``uri`` (a full URI under the lake root, or already a key).

        Raises:
            InputDataError: if ``uri`` is a full URI outside the lake root.
        """
        from sagebox.errors import InputDataError

        root = self.storage.uri.rstrip("/") + "/"
        if uri.startswith(root):
            return uri[len(root) :]
        if "://" in uri:
            raise InputDataError(
                f"{uri} is outside the data lake {self.storage.uri}",
                hint="copy it into the lake first (sagebox lake put) or use a lake key",
            )
        return uri.lstrip("/")
