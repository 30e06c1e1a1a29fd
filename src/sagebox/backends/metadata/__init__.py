"""Metadata stores, one per record family, all in one SQL database chosen by URL scheme.

Each family has its small interface and its SQLAlchemy implementation here, side by side (as
MLflow keeps its tracking and model-registry stores under ``store/``):

- jobs, artifacts, models, endpoints and rule statuses: :class:`MetadataStore` (``base``),
  ``sql.SqlMetadataStore``, opened by :func:`open_metadata_store`;
- the data catalog: :class:`CatalogStore` (``catalog``), ``sql_catalog.SqlCatalogStore``,
  opened by :func:`open_catalog_store`;
- feature groups: :class:`FeatureGroupStore` (``feature_groups``),
  ``sql_feature_groups.SqlFeatureGroupStore``, opened by :func:`open_feature_group_store`;
- the query history: :class:`QueryHistory` (``query_history``),
  ``sql_query_history.SqlQueryHistory``, opened by :func:`open_query_history`.

The SQL stores share one engine and session module (``_database``) and one Alembic migration
chain (``migrations/``), so they all live in the database that ``settings.metadata_uri`` names.
Third-party stores register a URI scheme in the entry-point groups
``sagebox.backends.metadata``, ``sagebox.backends.metadata.catalog``,
``sagebox.backends.metadata.feature_groups`` and ``sagebox.backends.metadata.query_history``,
and check themselves with :mod:`sagebox.testing.metadata` and :mod:`sagebox.testing.catalog`.

Example:
    >>> from sagebox.backends.metadata import JobRecord, open_metadata_store
    >>> store = open_metadata_store("sqlite:///:memory:")
    >>> store.create_job(JobRecord(name="train-1", kind="training")).name
    'train-1'
"""

from __future__ import annotations

from sagebox._registry import BackendRegistry
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
from sagebox.backends.metadata.catalog import (
    FORMATS,
    CatalogStore,
    Column,
    Database,
    Partition,
    Table,
    check_name,
    split_table_name,
)
from sagebox.backends.metadata.feature_groups import (
    SEARCH_FIELDS,
    CollectionType,
    FeatureDefinition,
    FeatureGroupRecord,
    FeatureGroupStore,
    FeatureType,
    check_feature_name,
    check_group_name,
)
from sagebox.backends.metadata.query_history import QueryHistory, QueryRecord

__all__ = [
    "CATALOG_STORES",
    "FEATURE_GROUP_STORES",
    "FORMATS",
    "METADATA_STORES",
    "QUERY_HISTORIES",
    "SEARCH_FIELDS",
    "ArtifactRecord",
    "CatalogStore",
    "CollectionType",
    "Column",
    "Database",
    "EndpointRecord",
    "FeatureDefinition",
    "FeatureGroupRecord",
    "FeatureGroupStore",
    "FeatureType",
    "JobRecord",
    "JobStatus",
    "MetadataStore",
    "MetricPoint",
    "ModelRecord",
    "Partition",
    "QueryHistory",
    "QueryRecord",
    "RuleEvaluationRecord",
    "Table",
    "check_feature_name",
    "check_group_name",
    "check_name",
    "open_catalog_store",
    "open_feature_group_store",
    "open_metadata_store",
    "open_query_history",
    "split_table_name",
]

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres")

METADATA_STORES: BackendRegistry[MetadataStore] = BackendRegistry(
    "metadata", group="sagebox.backends.metadata"
)
"""URI scheme → metadata store class (called with the URI); plugins add more."""

CATALOG_STORES: BackendRegistry[CatalogStore] = BackendRegistry(
    "catalog store", group="sagebox.backends.metadata.catalog"
)
"""Metadata URI scheme → catalog store class; plugins add more."""

FEATURE_GROUP_STORES: BackendRegistry[FeatureGroupStore] = BackendRegistry(
    "feature group store", group="sagebox.backends.metadata.feature_groups"
)
"""Metadata URI scheme → feature-group store class; plugins add more."""

QUERY_HISTORIES: BackendRegistry[QueryHistory] = BackendRegistry(
    "query history", group="sagebox.backends.metadata.query_history"
)
"""Metadata URI scheme → query history class; plugins add more."""

for _scheme in _SQL_SCHEMES:
    METADATA_STORES.register(_scheme, "sagebox.backends.metadata.sql:SqlMetadataStore")
    CATALOG_STORES.register(_scheme, "sagebox.backends.metadata.sql_catalog:SqlCatalogStore")
    FEATURE_GROUP_STORES.register(
        _scheme, "sagebox.backends.metadata.sql_feature_groups:SqlFeatureGroupStore"
    )
    QUERY_HISTORIES.register(_scheme, "sagebox.backends.metadata.sql_query_history:SqlQueryHistory")


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
    return METADATA_STORES.open(uri)


def open_catalog_store(uri: str) -> CatalogStore:
    """Open the catalog kept in the metadata database at ``uri`` (migrating it if needed).

    Raises:
        ConfigError: unknown scheme or malformed URI.
        ServiceUnavailableError: the database cannot be reached.
    """
    return CATALOG_STORES.open(uri)


def open_feature_group_store(uri: str) -> FeatureGroupStore:
    """Open the feature-group store kept in the metadata database at ``uri``.

    Raises:
        ConfigError: unknown scheme or malformed URI.
        ServiceUnavailableError: the database cannot be reached.
    """
    return FEATURE_GROUP_STORES.open(uri)


def open_query_history(uri: str) -> QueryHistory:
    """Open the query history kept in the metadata database at ``uri``.

    Raises:
        ConfigError: unknown scheme or malformed URI.
        ServiceUnavailableError: the database cannot be reached.
    """
    return QUERY_HISTORIES.open(uri)
