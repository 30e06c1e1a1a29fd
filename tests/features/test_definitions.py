"""Feature definitions: inference from frames, JSON forms, bad names and types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sagebox.errors import InputDataError
from sagebox.features import (
    CollectionType,
    FeatureDefinition,
    FeatureType,
    load_feature_definitions,
)


def test_inference_covers_scalars_lists_and_vectors() -> None:
    df = pd.DataFrame(
        {
            "id": np.array([1, 2], dtype=np.int32),
            "maybe_int": [1.0, np.nan],
            "score": [0.5, 1.5],
            "flag": [True, False],
            "name": ["a", None],
            "when": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "ids": [[1, 2], [3, 4]],
            "words": [["a"], ["b", "c"]],
            "emb": [np.array([0.1, 0.2]), np.array([0.3, 0.4])],
        }
    )
    got = {d.name: d.to_dict() for d in load_feature_definitions(df)}
    assert got["id"] == {"name": "id", "type": "Integral"}
    assert got["maybe_int"]["type"] == "Integral"
    assert got["score"]["type"] == "Fractional"
    assert got["flag"]["type"] == "Integral"
    assert got["name"]["type"] == got["when"]["type"] == "String"
    assert got["ids"] == {
        "name": "ids",
        "type": "Integral",
        "collection_type": "Vector",
        "dimension": 2,
    }
    assert got["words"] == {"name": "words", "type": "String", "collection_type": "List"}
    assert got["emb"]["type"] == "Fractional" and got["emb"]["dimension"] == 2


def test_json_forms_round_trip_and_accept_sagemaker_keys() -> None:
    vector = FeatureDefinition("ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 128)
    assert FeatureDefinition.from_dict(vector.to_dict()) == vector
    sm = FeatureDefinition.from_dict({"FeatureName": "score", "FeatureType": "Fractional"})
    assert sm == FeatureDefinition("score", FeatureType.FRACTIONAL)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "x", "type": "Float"}, "unknown type 'Float'"),
        ({"name": "x"}, "needs a name and a type"),
        ({"name": "bad name", "type": "String"}, "invalid feature name"),
        ({"name": "is_deleted", "type": "Integral"}, "reserved"),
        ({"name": "v", "type": "Integral", "collection_type": "Vector"}, "positive dimension"),
        ({"name": "v", "type": "Integral", "collection_type": "Set"}, "collection_type"),
    ],
)
def test_bad_definitions_are_named(value: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputDataError, match=message):
        FeatureDefinition.from_dict(value)


def test_columns_of_mixed_types_are_refused() -> None:
    with pytest.raises(InputDataError, match="'mixed' mixes value types"):
        load_feature_definitions(pd.DataFrame({"mixed": [1, "a"]}))
    with pytest.raises(InputDataError, match="mixes lists and single values"):
        load_feature_definitions(pd.DataFrame({"m": [[1], 2]}))
