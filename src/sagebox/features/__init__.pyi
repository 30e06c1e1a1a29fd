from .definitions import (
    CollectionType,
    FeatureDefinition,
    FeatureGroupRecord,
    FeatureType,
    load_feature_definitions,
)
from .group import FeatureGroup
from .ingest import IngestResult
from .pit import point_in_time_join
from .query import FeatureGroupQuery
from .store import FeatureStore

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
