"""The feature-group registry on every metadata database (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError
from sagebox.features.definitions import CollectionType, FeatureDefinition, FeatureType
from sagebox.features.registry import FeatureGroupRecord, open_feature_group_store


def _record(name: str, **extra: object) -> FeatureGroupRecord:
    features = [
        FeatureDefinition("review_id", FeatureType.INTEGRAL),
        FeatureDefinition("date", FeatureType.STRING),
        FeatureDefinition("input_ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 128),
    ]
    return FeatureGroupRecord(name, "review_id", "date", features, **extra)  # type: ignore[arg-type]


def test_registry_round_trip_update_search_delete(metadata_uri: str) -> None:
    registry = open_feature_group_store(metadata_uri)
    try:
        created = registry.create(
            _record(
                "reviews",
                description="BERT inputs",
                tags={"t": "nlp"},
                ttl_seconds=60.0,
                offline_uri="file:///lake/fs/",
            )
        )
        assert created.created_at is not None and created.status == "Created"
        got = registry.get("reviews")
        assert got.features == created.features and got.ttl_seconds == 60.0
        assert got.feature("input_ids").dimension == 128
        with pytest.raises(AlreadyExistsError):
            registry.create(_record("reviews"))
        registry.create(_record("clicks", online_enabled=False))
        assert [g.name for g in registry.list()] == ["clicks", "reviews"]
        assert [g.name for g in registry.search("bert")] == ["reviews"]
        updated = registry.update("reviews", description="new", tags={"a": "b"})
        assert (updated.description, updated.tags) == ("new", {"a": "b"})
        with pytest.raises(InputDataError, match="cannot change record_identifier_name"):
            registry.update("reviews", status="x", record_identifier_name="x")
        registry.delete("clicks")
        with pytest.raises(NotFoundError, match="no feature group 'clicks'"):
            registry.get("clicks")
    finally:
        registry.close()
