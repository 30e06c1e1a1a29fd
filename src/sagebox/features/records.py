"""Check records against a feature group's definitions and convert them to Arrow.

Every record needs its record identifier and a parsable event time; every column must be a
defined feature, holding values of the feature's type. A batch that breaks any rule is
rejected as a whole, naming the feature, the row and the value, before anything is written.

Example:
    >>> batch = validate_frame(df, definitions, "review_id", "event_time")  # doctest: +SKIP
    >>> batch.keys[:2], batch.event_ns[:2]  # doctest: +SKIP
    (['17', '18'], array([1764201600000000000, 1764201600000000000]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sagebox.errors import InputDataError
from sagebox.features.definitions import FeatureDefinition, FeatureType

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["ValidBatch", "event_time_ns", "record_key", "validate_frame"]

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class ValidBatch:
    """Records that passed the checks.

    Attributes:
        table: the features in their canonical Arrow types (all defined features, in
            definition order; absent ones are null).
        keys: each record's identifier as the online store's key (a string).
        event_ns: each record's event time in nanoseconds since the epoch (UTC).
    """

    table: pa.Table
    keys: list[str]
    event_ns: np.ndarray

    def __len__(self) -> int:
        return int(self.table.num_rows)


def validate_frame(
    df: pd.DataFrame,
    definitions: list[FeatureDefinition],
    record_id: str,
    event_time: str,
) -> ValidBatch:
    """Check ``df`` against the definitions and convert it.

    Raises:
        InputDataError: a column is not a defined feature, the identifier or event time is
            missing (column or value), an event time cannot be parsed, or a value has the
            wrong type for its feature (each message names feature, row and value).
    """
    import pyarrow as pa

    by_name = {d.name: d for d in definitions}
    unknown = [str(c) for c in df.columns if c not in by_name]
    if unknown:
        raise InputDataError(
            f"unknown feature(s) {', '.join(map(repr, unknown))}",
            hint=f"the feature group defines: {', '.join(by_name)}; drop the other columns",
        )
    for required, what in ((record_id, "record identifier"), (event_time, "event time")):
        if required not in df.columns:
            raise InputDataError(
                f"the records lack the {what} feature {required!r}",
                hint=f"every record needs {record_id!r} and {event_time!r}",
            )
        missing = df[required].isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise InputDataError(
                f"{int(missing.sum())} record(s) lack the {what} {required!r} (first: row {row})",
                hint=f"every record needs {record_id!r} and {event_time!r}",
            )
    event_ns = event_time_ns(df[event_time], by_name[event_time])
    arrays = []
    for definition in definitions:
        if definition.name in df.columns:
            series = df[definition.name]
            if definition.name == event_time and by_name[event_time].type is FeatureType.STRING:
                series = _iso_strings(series, event_ns)
            arrays.append(_to_arrow(series, definition))
        else:
            arrays.append(pa.nulls(len(df), type=definition.arrow_type()))
    table = pa.Table.from_arrays(arrays, names=[d.name for d in definitions])
    keys = [record_key(v, by_name[record_id]) for v in table.column(record_id).to_pylist()]
    return ValidBatch(table=table, keys=keys, event_ns=event_ns)


def record_key(value: Any, definition: FeatureDefinition) -> str:
    """The online store's key of a record identifier value (``17`` and ``"17"`` agree).

    Raises:
        InputDataError: if an Integral identifier is not a whole number.
    """
    if definition.type is FeatureType.INTEGRAL:
        try:
            number = float(value) if not isinstance(value, int | np.integer) else int(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not (isinstance(number, int) or float(number).is_integer()):
            raise InputDataError(
                f"record identifier {value!r} is not an integer",
                hint=f"{definition.name!r} is an Integral feature",
            )
        return str(int(number))
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise InputDataError("a record identifier is missing", hint="give every record an id")
    return str(value)


def event_time_ns(values: Any, definition: FeatureDefinition) -> np.ndarray:
    """Event times as int64 nanoseconds since the epoch (UTC).

    String event times are ISO-8601 (``2026-11-27T10:00:00Z``; no zone means UTC);
    Fractional and Integral ones are seconds since the epoch. Datetime values are accepted
    for either.

    Raises:
        InputDataError: naming the first value that cannot be parsed.
    """
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.to_datetime(series, utc=True)
    elif definition.type is FeatureType.STRING:
        if numeric:
            _check_parsed(series, np.ones(len(series), bool), definition, "ISO-8601 text")
        stamps = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
        _check_parsed(series, stamps.isna().to_numpy(), definition, "ISO-8601")
    elif numeric:
        return _seconds_to_ns(series.to_numpy(dtype=np.float64))
    else:
        parsed = pd.to_numeric(series, errors="coerce")
        _check_parsed(series, parsed.isna().to_numpy(), definition, "seconds since the epoch")
        return _seconds_to_ns(parsed.to_numpy(dtype=np.float64))
    out: np.ndarray = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return out


def _seconds_to_ns(seconds: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(seconds)
    if bad.any():
        raise InputDataError(
            f"event time {seconds[bad][0]!r} is not a finite number of seconds",
            hint="give seconds since the epoch, e.g. 1764201600.0",
        )
    return np.round(seconds * 1e9).astype(np.int64)


def _check_parsed(
    series: Any, failed: np.ndarray, definition: FeatureDefinition, what: str
) -> None:
    bad = failed & series.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(
            f"cannot parse event time {series.iloc[row]!r} (row {row}) of {definition.name!r} "
            f"as {what}",
            hint="use ISO-8601 strings such as 2026-11-27T10:00:00Z for String event times, "
            "or seconds since the epoch for Fractional ones",
        )


def _iso_strings(series: Any, event_ns: np.ndarray) -> Any:
    """Datetime values of a String event time as ISO-8601 text; strings stay as given."""
    import pandas as pd

    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    stamps = pd.to_datetime(event_ns, utc=True)
    return pd.Series(stamps.strftime(ISO_FORMAT), index=series.index)


def _to_arrow(series: Any, definition: FeatureDefinition) -> pa.Array:
    """Convert a column, letting Arrow infer its type first and then checking that type:
    converting straight to the target type would silently truncate 0.5 to 0 and parse "1".
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if definition.is_collection:
            values = [None if _is_missing(v) else v for v in series.tolist()]
            inferred = pa.array(values, from_pandas=True)
        else:
            inferred = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        raise _type_error(series, definition) from None
    scalar = inferred.type
    if definition.is_collection:
        if not (pa.types.is_list(scalar) or pa.types.is_large_list(scalar) or scalar == pa.null()):
            raise _type_error(series, definition)
        scalar = scalar.value_type if scalar != pa.null() else scalar
        flat = pc.list_flatten(inferred) if inferred.type != pa.null() else inferred
    else:
        flat = inferred
    if not _compatible(scalar, definition.type):
        raise _type_error(series, definition)
    if definition.type is FeatureType.INTEGRAL and pa.types.is_floating(scalar):
        whole = pc.equal(pc.floor(flat), flat)
        if pc.all(whole, skip_nulls=True).as_py() is False:
            raise _type_error(series, definition)
    try:
        array = inferred.cast(definition.arrow_type())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _type_error(series, definition) from None
    if definition.dimension is not None:
        _check_dimension(array, definition)
    return array


def _compatible(scalar: pa.DataType, kind: FeatureType) -> bool:
    import pyarrow as pa

    if scalar == pa.null():
        return True
    if kind is FeatureType.STRING:
        return bool(pa.types.is_string(scalar) or pa.types.is_large_string(scalar))
    return bool(
        pa.types.is_integer(scalar) or pa.types.is_floating(scalar) or pa.types.is_boolean(scalar)
    )


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _check_dimension(array: pa.Array, definition: FeatureDefinition) -> None:
    import pyarrow.compute as pc

    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    bad = ~np.isnan(lengths.astype(float)) & (lengths != definition.dimension)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(
            f"vector feature {definition.name!r} needs {definition.dimension} values, row {row} "
            f"has {int(lengths[row])}",
            hint="pad or truncate the vectors to the feature's dimension",
        )


def _type_error(series: Any, definition: FeatureDefinition) -> InputDataError:
    """Name the first value that does not fit the feature's type."""
    kind = definition.type.value + (
        f" {definition.collection_type.value}" if definition.collection_type else ""
    )
    for row, value in enumerate(series.tolist()):
        if _is_missing(value):
            continue
        items = list(value) if definition.is_collection and _sequence(value) else [value]
        if definition.is_collection and not _sequence(value):
            return _bad(definition, kind, row, value)
        for item in items:
            if not _fits(item, definition.type):
                return _bad(definition, kind, row, value)
    return InputDataError(
        f"feature {definition.name!r} ({kind}) holds values that cannot be stored",
        hint="check the column's values",
    )


def _bad(definition: FeatureDefinition, kind: str, row: int, value: Any) -> InputDataError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return InputDataError(
        f"feature {definition.name!r} is {kind} but row {row} holds {shown} "
        f"({type(value).__name__})",
        hint="convert the column to the feature's type, or fix the definition",
    )


def _sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _fits(value: Any, kind: FeatureType) -> bool:
    if kind is FeatureType.STRING:
        return isinstance(value, str)
    if isinstance(value, bool | np.bool_):
        return True
    if kind is FeatureType.INTEGRAL:
        return isinstance(value, int | np.integer) or (
            isinstance(value, float | np.floating) and float(value).is_integer()
        )
    return isinstance(value, int | float | np.integer | np.floating)
