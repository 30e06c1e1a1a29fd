"""Feature definitions: names and types of a feature group's features, inferred or declared.

A feature is ``Integral`` (64-bit integer), ``Fractional`` (64-bit float) or ``String``, as in
SageMaker Feature Store, optionally a collection: a ``List`` of such values, or a ``Vector``
of a fixed ``dimension`` (token ids, embeddings).

Example:
    >>> import pandas as pd
    >>> defs = load_feature_definitions(pd.DataFrame({"review_id": [1], "score": [0.5]}))
    >>> [(d.name, d.type.value) for d in defs]
    [('review_id', 'Integral'), ('score', 'Fractional')]
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "CollectionType",
    "FeatureDefinition",
    "FeatureType",
    "check_feature_name",
    "load_feature_definitions",
]

_FEATURE_NAME = re.compile(r"[A-Za-z0-9]([-_]*[A-Za-z0-9]){0,63}")
#: columns the offline store adds to every record; features may not use these names
RESERVED_NAMES = ("write_time", "api_invocation_time", "is_deleted")


class FeatureType(enum.StrEnum):
    """The scalar type of a feature (SageMaker's names)."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"


class CollectionType(enum.StrEnum):
    """How many values a feature holds: a list of any length, or a vector of fixed length."""

    LIST = "List"
    VECTOR = "Vector"


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature: its name, scalar type and (for list/vector features) collection type.

    Example:
        >>> FeatureDefinition("input_ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 128)
        FeatureDefinition(name='input_ids', type=<FeatureType.INTEGRAL: 'Integral'>, ...)
    """

    name: str
    type: FeatureType
    collection_type: CollectionType | None = None
    dimension: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _enum(FeatureType, self.type, self.name, "type"))
        if self.collection_type is not None:
            kind = _enum(CollectionType, self.collection_type, self.name, "collection_type")
            object.__setattr__(self, "collection_type", kind)
        if self.collection_type is CollectionType.VECTOR and not (
            isinstance(self.dimension, int) and self.dimension > 0
        ):
            raise InputDataError(
                f"vector feature {self.name!r} needs a positive dimension, got {self.dimension!r}",
                hint="give dimension=N (e.g. max_seq_length for token ids)",
            )

    @property
    def is_collection(self) -> bool:
        """Whether the feature holds a list or vector of values."""
        return self.collection_type is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in the registry and printed by the CLI."""
        out: dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.collection_type is not None:
            out["collection_type"] = self.collection_type.value
        if self.dimension is not None:
            out["dimension"] = self.dimension
        return out

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> FeatureDefinition:
        """Parse the JSON form (also accepts SageMaker's ``FeatureName``/``FeatureType`` keys).

        Raises:
            InputDataError: if a key is missing or a type unknown.
        """
        name = value.get("name", value.get("FeatureName"))
        kind = value.get("type", value.get("FeatureType"))
        if not isinstance(name, str) or kind is None:
            raise InputDataError(
                f"a feature definition needs a name and a type, got {value!r}",
                hint='write e.g. {"name": "score", "type": "Fractional"}',
            )
        collection = value.get("collection_type", value.get("CollectionType"))
        dimension = value.get("dimension", (value.get("CollectionConfig") or {}).get("Dimension"))
        return cls(check_feature_name(name), kind, collection, dimension)

    def arrow_type(self) -> pa.DataType:
        """The Arrow type of the feature's values in the offline store."""
        import pyarrow as pa

        scalar = {
            FeatureType.INTEGRAL: pa.int64(),
            FeatureType.FRACTIONAL: pa.float64(),
            FeatureType.STRING: pa.string(),
        }[self.type]
        return pa.list_(scalar) if self.is_collection else scalar

    def catalog_type(self) -> tuple[str, str]:
        """The catalog column type and comment (collections are noted in the comment)."""
        scalar = {"Integral": "bigint", "Fractional": "double", "String": "string"}[self.type]
        if not self.is_collection:
            return scalar, ""
        return "string", f"array<{scalar}>"


def _enum(cls: type[enum.StrEnum], value: Any, name: str, what: str) -> Any:
    try:
        return cls(value.value if isinstance(value, enum.Enum) else str(value))
    except ValueError:
        raise InputDataError(
            f"feature {name!r} has unknown {what} {value!r}",
            hint=f"use one of: {', '.join(m.value for m in cls)}",
        ) from None


def check_feature_name(name: str) -> str:
    """``name`` if it is a valid feature name.

    Raises:
        InputDataError: if it is not letters, digits, ``-`` and ``_`` (up to 64 characters,
            starting and ending with a letter or digit) or is a reserved name.
    """
    if not isinstance(name, str) or not _FEATURE_NAME.fullmatch(name):
        raise InputDataError(
            f"invalid feature name {name!r}",
            hint="use letters, digits, - and _ (start and end with a letter or digit)",
        )
    if name in RESERVED_NAMES:
        raise InputDataError(
            f"feature name {name!r} is reserved by the offline store",
            hint=f"rename the column; reserved: {', '.join(RESERVED_NAMES)}",
        )
    return name


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
