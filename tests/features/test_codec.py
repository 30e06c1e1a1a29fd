"""Online values: numeric lists packed as base64 come back as the same Python lists."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from sagebox.features._codec import decode_values, encode_rows
from sagebox.features.definitions import CollectionType, FeatureDefinition, FeatureType


def _round_trip(table: pa.Table, definitions: list[FeatureDefinition]) -> list[dict]:  # type: ignore[type-arg]
    rows = encode_rows(table, definitions)
    return [decode_values(json.loads(json.dumps(r)), definitions) for r in rows]


def test_vectors_lists_nulls_and_wide_values_survive() -> None:
    definitions = [
        FeatureDefinition("ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 3),
        FeatureDefinition("l", FeatureType.INTEGRAL, CollectionType.LIST),
        FeatureDefinition("f", FeatureType.FRACTIONAL, CollectionType.VECTOR, 2),
        FeatureDefinition("w", FeatureType.STRING, CollectionType.LIST),
        FeatureDefinition("n", FeatureType.INTEGRAL),
    ]
    table = pa.table(
        {
            "ids": pa.array(
                [[101, 7, 102], [101, 8, 102], [0, 0, 0], [1, 2, 3]], type=pa.list_(pa.int64())
            ),
            "l": pa.array([[1, 2**40], None, [], [-5]], type=pa.list_(pa.int64())),
            "f": pa.array(
                [[0.5, 1e300], [1.0, 2.0], None, [3.0, -0.0]], type=pa.list_(pa.float64())
            ),
            "w": pa.array([["a"], [], None, ["b", "c"]], type=pa.list_(pa.string())),
            "n": pa.array([1, None, 3, 4], type=pa.int64()),
        }
    )
    assert _round_trip(table, definitions) == table.to_pylist()


def test_large_fixed_width_batches_pack_in_one_call() -> None:
    ids = np.random.default_rng(0).integers(0, 30522, (257, 128))
    offsets = pa.array(np.arange(0, ids.size + 1, 128, dtype=np.int32))
    table = pa.table({"ids": pa.ListArray.from_arrays(offsets, pa.array(ids.reshape(-1)))})
    definitions = [FeatureDefinition("ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 128)]
    rows = encode_rows(table, definitions)
    assert rows[0]["ids"]["$t"] == "<i4"  # token ids fit 32 bits
    assert [decode_values(r, definitions)["ids"] for r in rows] == ids.tolist()
