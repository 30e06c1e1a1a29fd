"""The feature store (SageMaker Feature Store equivalent): feature groups, online and offline.

Public names are imported lazily, so ``import sagebox.features`` stays light::

    from sagebox.features import FeatureGroup, FeatureStore

    group = FeatureGroup("reviews", session=session)
    group.load_feature_definitions(df)
    group.create(record_identifier_name="review_id", event_time_feature_name="date")
    group.ingest(df, max_workers=2)
    group.get_record(17, features=["sentiment"])
    FeatureStore(session).training_set(entities, ["reviews"])
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagebox.backends.metadata import FeatureGroupRecord
    from sagebox.features.definitions import (
        CollectionType,
        FeatureDefinition,
        FeatureType,
        load_feature_definitions,
    )
    from sagebox.features.group import FeatureGroup
    from sagebox.features.ingest import IngestResult
    from sagebox.features.pit import point_in_time_join
    from sagebox.features.query import FeatureGroupQuery
    from sagebox.features.store import FeatureStore

__all__ = [
    "CollectionType",
    "FeatureDefinition",
    "FeatureGroup",
    "FeatureGroupQuery",
    "FeatureGroupRecord",
    "FeatureStore",
    "FeatureType",
    "IngestResult",
    "load_feature_definitions",
    "point_in_time_join",
]

_LAZY = {
    "CollectionType": "sagebox.features.definitions",
    "FeatureDefinition": "sagebox.features.definitions",
    "FeatureType": "sagebox.features.definitions",
    "load_feature_definitions": "sagebox.features.definitions",
    "FeatureGroup": "sagebox.features.group",
    "IngestResult": "sagebox.features.ingest",
    "point_in_time_join": "sagebox.features.pit",
    "FeatureGroupQuery": "sagebox.features.query",
    "FeatureGroupRecord": "sagebox.backends.metadata",
    "FeatureStore": "sagebox.features.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sagebox.features' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
