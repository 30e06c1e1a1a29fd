"""Column types of the catalog (Glue/Hive names) and how data types map onto them.

``boolean < bigint < double < string`` and ``date < timestamp < string``: when samples of a
column disagree, the crawler widens to the smallest type that holds both (and says so).

Example:
    >>> widen("bigint", "double"), widen("bigint", "string"), normalize_type("INTEGER")
    ('double', 'string', 'bigint')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["TYPES", "from_arrow", "from_pandas", "normalize_type", "to_duckdb", "widen"]

#: the column types a table may declare
TYPES = ("boolean", "bigint", "double", "string", "date", "timestamp", "binary")
_ALIASES = {
    "bool": "boolean",
    "int": "bigint",
    "integer": "bigint",
    "long": "bigint",
    "int64": "bigint",
    "int32": "bigint",
    "smallint": "bigint",
    "tinyint": "bigint",
    "hugeint": "bigint",
    "ubigint": "bigint",
    "uinteger": "bigint",
    "float": "double",
    "real": "double",
    "float64": "double",
    "float32": "double",
    "decimal": "double",
    "str": "string",
    "varchar": "string",
    "text": "string",
    "char": "string",
    "datetime": "timestamp",
    "timestamp with time zone": "timestamp",
    "timestamptz": "timestamp",
    "blob": "binary",
    "bytes": "binary",
}
_RANK = {"boolean": 0, "bigint": 1, "double": 2}
_DUCKDB = {
    "boolean": "BOOLEAN",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}


def normalize_type(name: str) -> str:
    """The catalog name of a type given in any common spelling (``INTEGER`` → ``bigint``).

    Raises:
        InputDataError: if the type is unknown.
    """
    lowered = name.strip().lower()
    base = lowered.split("(")[0].strip()
    found = base if base in TYPES else _ALIASES.get(base)
    if found is None:
        raise InputDataError(
            f"unknown column type {name!r}", hint=f"use one of: {', '.join(TYPES)}"
        )
    return found


def widen(a: str, b: str) -> str:
    """The narrowest type holding values of both ``a`` and ``b``."""
    if a == b:
        return a
    if a in _RANK and b in _RANK:
        return a if _RANK[a] > _RANK[b] else b
    if {a, b} == {"date", "timestamp"}:
        return "timestamp"
    return "string"


def to_duckdb(name: str) -> str:
    """The DuckDB type of a catalog type."""
    return _DUCKDB[normalize_type(name)]


def from_arrow(dtype: pa.DataType) -> str:
    """The catalog type of an Arrow type (nested and other types become ``string``)."""
    import pyarrow as pa

    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "bigint"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "double"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return "binary"
    if pa.types.is_dictionary(dtype):
        return from_arrow(dtype.value_type)
    return "string"


def from_pandas(series: pd.Series) -> str:
    """The catalog type of a column read by pandas, looking at its values where needed.

    Floats that are all whole numbers are ``bigint`` (pandas reads an integer column with
    missing values as floats); text columns whose values are all numbers or booleans take that
    type.
    """
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        values = series.dropna()
        if len(values) and bool(((values % 1) == 0).all()) and values.abs().max() < 2**53:
            return "bigint"
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    values = series.dropna()
    if len(values) == 0:
        return "string"
    return _infer_objects(values)


def _infer_objects(values: Any) -> str:
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int, bool} and kinds != {bool}:
        return "bigint"
    if kinds <= {int, float}:
        return "double"
    return "string"
