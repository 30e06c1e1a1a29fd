"""Metadata stores: records of jobs, artifacts, models and endpoints, chosen by URL scheme.

Example:
    >>> from sagebox.backends.metadata import JobRecord, open_metadata_store
    >>> store = open_metadata_store("sqlite:///:memory:")
    >>> store.create_job(JobRecord(name="train-1", kind="training")).name
    'train-1'
"""

from __future__ import annotations

from sagebox._registry import Registry
from sagebox.backends.metadata.base import (
    ArtifactRecord,
    EndpointRecord,
    JobRecord,
    JobStatus,
    MetadataStore,
    MetricPoint,
    ModelRecord,
    RuleEvaluationRecord,
)
from sagebox.errors import ConfigError

__all__ = [
    "METADATA_STORES",
    "ArtifactRecord",
    "EndpointRecord",
    "JobRecord",
    "JobStatus",
    "MetadataStore",
    "MetricPoint",
    "ModelRecord",
    "RuleEvaluationRecord",
    "open_metadata_store",
]

METADATA_STORES: Registry[MetadataStore] = Registry("metadata store URI scheme")
"""URI scheme → store class (called with the URI); third parties may register more."""

_SQL_STORE = "sagebox.backends.metadata.sql:SqlMetadataStore"
for _scheme in ("sqlite", "postgresql", "postgres"):
    METADATA_STORES.register(_scheme, _SQL_STORE)


def open_metadata_store(uri: str) -> MetadataStore:
    """Open (and migrate if needed) the metadata store at ``uri``.

    ``postgresql://`` URLs use the psycopg 3 driver; a ``+driver`` suffix is allowed, e.g.
    ``postgresql+psycopg://``.

    Args:
        uri: ``sqlite:///path/to/sagebox.db``, ``sqlite:///:memory:`` or
            ``postgresql://user[:password]@host[:port]/database``.

    Raises:
        ConfigError: if the scheme is unknown or the URI malformed.
        ServiceUnavailableError: if the database cannot be reached.
    """
    scheme, sep, _ = uri.partition("://")
    if not sep:
        raise ConfigError(
            f"the metadata URI {uri!r} has no scheme",
            hint=f"start it with one of: {', '.join(f'{n}://' for n in METADATA_STORES.names())}",
        )
    return METADATA_STORES.get(scheme.split("+", 1)[0].lower())(uri)
