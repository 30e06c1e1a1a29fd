"""How feature values are stored online: JSON, with numeric lists as packed base64 arrays.

Writing a vector of 128 token ids as JSON numbers costs tens of microseconds per record in
Python and would dominate ingest. Numeric lists are therefore stored as little-endian bytes
in base64 (``{"$b64": ..., "$t": "<i4", "$n": 128}``; integers narrowed to 32 bits when they
fit), built with numpy for a whole batch at once. Readers get plain Python lists back.

Example:
    >>> rows = encode_rows(table, definitions)  # doctest: +SKIP
    >>> decode_values(rows[0], definitions)["input_ids"][:3]  # doctest: +SKIP
    [101, 2293, 2009]
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np

from sagebox.features.definitions import FeatureDefinition, FeatureType

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["decode_values", "encode_rows"]

_TAG = "$b64"


def _packed(definition: FeatureDefinition) -> bool:
    return definition.is_collection and definition.type is not FeatureType.STRING


def _values(column: pa.ChunkedArray, kind: FeatureType) -> tuple[np.ndarray, np.ndarray, Any]:
    """The flattened values (narrowed when lossless), the offsets and the list array."""
    array = column.combine_chunks()
    values = array.flatten().to_numpy(zero_copy_only=False)
    if kind is FeatureType.INTEGRAL:
        values = values.astype("<i8", copy=False)
        if len(values) and values.min() >= -(2**31) and values.max() < 2**31:
            values = values.astype("<i4")
    else:
        values = values.astype("<f8", copy=False)
    return values, array.offsets.to_numpy(), array


def encode_rows(table: pa.Table, definitions: list[FeatureDefinition]) -> list[dict[str, Any]]:
    """Each row of ``table`` as the dict the online store keeps (JSON-serialisable)."""
    packed = [d for d in definitions if _packed(d) and d.name in table.column_names]
    rows: list[dict[str, Any]] = table.drop_columns([d.name for d in packed]).to_pylist()
    for definition in packed:
        values, offsets, array = _values(table.column(definition.name), definition.type)
        lengths = np.diff(offsets)
        tag = values.dtype.str
        if array.null_count == 0 and len(rows) and (lengths == lengths[0]).all():
            texts = _fixed_width(values, int(lengths[0]), len(rows))
            width = int(lengths[0])
            for row, text in zip(rows, texts, strict=True):
                row[definition.name] = {_TAG: text, "$t": tag, "$n": width}
            continue
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        data, size = values.tobytes(), values.dtype.itemsize
        for i, row in enumerate(rows):
            if not valid[i]:
                row[definition.name] = None
                continue
            chunk = data[offsets[i] * size : offsets[i + 1] * size]
            text = base64.b64encode(chunk).decode("ascii")
            row[definition.name] = {_TAG: text, "$t": tag, "$n": int(lengths[i])}
    return rows


def _fixed_width(values: np.ndarray, width: int, rows: int) -> list[str]:
    """Base64 of each row of an (rows, width) array, encoded in one call.

    Rows are padded to a multiple of 3 bytes, so that the base64 of the whole buffer splits
    into the rows' base64 at fixed positions.
    """
    row_bytes = width * values.dtype.itemsize
    padded = -(-row_bytes // 3) * 3
    buffer = np.zeros((rows, padded), dtype=np.uint8)
    buffer[:, :row_bytes] = values.view(np.uint8).reshape(rows, row_bytes)
    text = base64.b64encode(buffer.tobytes()).decode("ascii")
    step = padded // 3 * 4
    return [text[i : i + step] for i in range(0, len(text), step)]


def decode_values(values: dict[str, Any], definitions: list[FeatureDefinition]) -> dict[str, Any]:
    """The stored dict with packed lists turned back into Python lists."""
    out = dict(values)
    for definition in definitions:
        value = out.get(definition.name)
        if isinstance(value, dict) and _TAG in value:
            dtype = np.dtype(value["$t"])
            raw = base64.b64decode(value[_TAG])[: int(value["$n"]) * dtype.itemsize]
            out[definition.name] = np.frombuffer(raw, dtype=dtype).tolist()
    return out
