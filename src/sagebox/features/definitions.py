"""Feature definitions: names and types of a feature group's features, inferred or declared.

A feature is ``Integral`` (64-bit integer), ``Fractional`` (64-bit float) or ``String``, as in
SageMaker Feature Store, optionally a collection: a ``List`` of such values, or a ``Vector``
of a fixed ``dimension`` (token ids, embeddings). The definition types belong to the
feature-group store (:mod:`sagebox.backends.metadata.feature_groups`) and are re-exported
here; this module adds their inference from a DataFrame.

Example:
    >>> import pandas as pd
    >>> defs = load_feature_definitions(pd.DataFrame({"review_id": [1], "score": [0.5]}))
    >>> [(d.name, d.type.value) for d in defs]
    [('review_id', 'Integral'), ('score', 'Fractional')]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagebox.backends.metadata.feature_groups import (
    RESERVED_NAMES,
    CollectionType,
    FeatureDefinition,
    FeatureGroupRecord,
    FeatureType,
    check_feature_name,
)
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RESERVED_NAMES",
    "CollectionType",
    "FeatureDefinition",
    "FeatureGroupRecord",
    "FeatureType",
    "check_feature_name",
    "load_feature_definitions",
]


def load_feature_definitions(df: pd.DataFrame) -> list[FeatureDefinition]:
    """Infer one feature definition per column of ``df``.

    Integer columns are ``Integral``, float columns ``Fractional`` (or ``Integral`` when
    every value is whole, as pandas reads integers with gaps as floats), text and datetime
    columns ``String``. Columns of lists or arrays become ``List`` features of the element
    type, or ``Vector`` features when every row has the same length.

    Raises:
        InputDataError: if a column name is invalid or a column's type cannot be stored.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"id": ["a"], "ids": [[101, 102]]})
        >>> [d.to_dict() for d in load_feature_definitions(df)]  # doctest: +NORMALIZE_WHITESPACE
        [{'name': 'id', 'type': 'String'},
         {'name': 'ids', 'type': 'Integral', 'collection_type': 'Vector', 'dimension': 2}]
    """
    return [_infer(str(column), df[column]) for column in df.columns]


def _infer(name: str, series: pd.Series) -> FeatureDefinition:
    import pandas as pd

    check_feature_name(name)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return FeatureDefinition(name, FeatureType.INTEGRAL)
    if pd.api.types.is_float_dtype(dtype):
        values = series.dropna()
        whole = len(values) > 0 and bool(((values % 1) == 0).all())
        return FeatureDefinition(name, FeatureType.INTEGRAL if whole else FeatureType.FRACTIONAL)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return FeatureDefinition(name, FeatureType.STRING)
    values = series.dropna()
    if len(values) == 0:
        return FeatureDefinition(name, FeatureType.STRING)
    first = values.iloc[0]
    if _is_sequence(first):
        return _infer_collection(name, values)
    kinds = {type(v) for v in values}
    if kinds <= {int, bool}:
        return FeatureDefinition(name, FeatureType.INTEGRAL)
    if kinds <= {int, float, bool}:
        return FeatureDefinition(name, FeatureType.FRACTIONAL)
    if kinds <= {str} or all(isinstance(v, str | pd.Timestamp) for v in values):
        return FeatureDefinition(name, FeatureType.STRING)
    raise InputDataError(
        f"column {name!r} mixes value types ({', '.join(sorted(k.__name__ for k in kinds))})",
        hint="give it one type: numbers, strings, or lists of one of those",
    )


def _infer_collection(name: str, values: pd.Series) -> FeatureDefinition:
    import numpy as np

    lengths = set()
    kinds: set[str] = set()
    for value in values:
        if not _is_sequence(value):
            raise InputDataError(
                f"column {name!r} mixes lists and single values", hint="make every row a list"
            )
        array = np.asarray(value)
        lengths.add(len(array))
        kinds.add(array.dtype.kind)
    if kinds <= {"i", "u", "b"}:
        scalar = FeatureType.INTEGRAL
    elif kinds <= {"i", "u", "b", "f"}:
        scalar = FeatureType.FRACTIONAL
    elif kinds <= {"U", "O", "S"}:
        scalar = FeatureType.STRING
    else:
        raise InputDataError(
            f"list column {name!r} holds values that are not numbers or strings",
            hint="store lists of numbers or of strings",
        )
    if len(lengths) == 1 and next(iter(lengths)) > 0:
        return FeatureDefinition(name, scalar, CollectionType.VECTOR, next(iter(lengths)))
    return FeatureDefinition(name, scalar, CollectionType.LIST)


def _is_sequence(value: Any) -> bool:
    import numpy as np

    return isinstance(value, list | tuple | np.ndarray)
