"""Point-in-time correct joins: each entity row gets the features as they were at its time.

For an entity row ``(id, t)`` the join picks, among the feature rows of that id with event
time <= t, the one with the newest event time; of several rows with the same id and event
time (a record ingested twice) the one written last (``write_time``) counts. If that row is a
deletion marker the entity row gets no features, as the record did not exist at ``t``.
Entity rows without such a feature row get nulls.

The join is vectorised with numpy (one argsort, one sort of packed 64-bit keys and binary
searches), several times faster than ``pandas.merge_asof`` (see ``bench/bench_features.py``)
and with the same results as :func:`merge_asof_reference`.

Example:
    >>> import pandas as pd
    >>> features = pd.DataFrame({"id": [1, 1], "t": [10.0, 20.0], "score": [0.1, 0.2]})
    >>> entities = pd.DataFrame({"id": [1, 1, 2], "t": [15.0, 25.0, 15.0]})
    >>> point_in_time_join(entities, features, entity_id="id", entity_time="t",
    ...                    feature_id="id", feature_time="t",
    ...                    write_time=None, deleted=None)["score"].tolist()
    [0.1, 0.2, nan]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["as_of_rows", "merge_asof_reference", "point_in_time_join", "to_ns"]

_MISSING = np.iinfo(np.int64).min


def to_ns(values: Any, what: str = "time") -> np.ndarray:
    """Times as int64 nanoseconds since the epoch.

    Datetimes are taken as they are (naive ones as UTC), numbers as seconds since the epoch,
    strings as ISO-8601. Missing values become the smallest int64 (they match nothing).

    Raises:
        InputDataError: naming the first value that cannot be parsed.
    """
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    missing = series.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.to_datetime(series, utc=True)
        out = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    elif pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    ):
        seconds = series.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.round(np.nan_to_num(seconds) * 1e9).astype(np.int64)
    else:
        stamps = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
        bad = stamps.isna().to_numpy() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputDataError(
                f"cannot parse {what} {series.iloc[row]!r} (row {row}) as a time",
                hint="use ISO-8601 strings, datetimes, or seconds since the epoch",
            )
        out = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    out[missing] = _MISSING
    return out


def _codes(feature_ids: np.ndarray, entity_ids: np.ndarray, row_bits: int) -> tuple[Any, ...]:
    """Small non-negative integer codes of the ids (entity ids unknown to features: -1)."""
    import pandas as pd

    if (
        feature_ids.dtype.kind in "iu"
        and entity_ids.dtype.kind in "iu"
        and len(feature_ids)
        and feature_ids.min() >= 0
        and int(feature_ids.max()).bit_length() + row_bits <= 62
    ):
        f_codes = feature_ids.astype(np.int64, copy=False)
        limit = int(f_codes.max())
        e = entity_ids.astype(np.int64, copy=False)
        e_codes = np.where((e >= 0) & (e <= limit), e, -1)
        return f_codes, e_codes
    f_codes, uniques = pd.factorize(feature_ids)
    e_codes = pd.Index(uniques).get_indexer(entity_ids)
    return f_codes.astype(np.int64, copy=False), e_codes.astype(np.int64, copy=False)


def as_of_rows(
    feature_ids: np.ndarray,
    feature_ns: np.ndarray,
    entity_ids: np.ndarray,
    entity_ns: np.ndarray,
    write_ns: np.ndarray | None = None,
    deleted: np.ndarray | None = None,
) -> np.ndarray:
    """For each entity, the index of its as-of feature row, or -1.

    Args:
        feature_ids: the feature rows' record ids.
        feature_ns: their event times (int64 ns).
        entity_ids: the entity rows' ids.
        entity_ns: their times (int64 ns).
        write_ns: the feature rows' write times (for duplicates of one id and event time).
        deleted: whether each feature row is a deletion marker.
    """
    feature_ns = np.asarray(feature_ns)
    known = feature_ns != _MISSING
    if not known.all():  # rows without an event time match nothing
        kept = np.flatnonzero(known)
        found = as_of_rows(
            np.asarray(feature_ids)[kept],
            feature_ns[kept],
            entity_ids,
            entity_ns,
            None if write_ns is None else np.asarray(write_ns)[kept],
            None if deleted is None else np.asarray(deleted)[kept],
        )
        return np.where(found >= 0, kept[np.maximum(found, 0)], -1)
    n = len(feature_ns)
    if n == 0 or len(entity_ns) == 0:
        return np.full(len(entity_ns), -1, dtype=np.int64)
    row_bits = max(1, n.bit_length())
    f_codes, e_codes = _codes(np.asarray(feature_ids), np.asarray(entity_ids), row_bits)
    entity_ns = np.asarray(entity_ns)
    order = _by_id_and_time_units(f_codes, feature_ns, e_codes, entity_ns, row_bits)
    if order is None:
        order = _by_id_and_rank(f_codes, feature_ns, e_codes, entity_ns, row_bits)
    search, rows, codes_of, query, e_units, same = order
    if same.any():
        rows = _newest_writes(rows, same, write_ns)
        keep = np.append(~same, True)
        search, rows, codes_of = search[keep], rows[keep], codes_of[keep]
    at = _sorted_search(search, query) - 1
    ok = (e_codes >= 0) & (e_units >= 0) & (at >= 0)
    at = np.maximum(at, 0)
    ok &= codes_of[at] == e_codes
    found = np.where(ok, rows[at], -1)
    if deleted is not None:
        hit = found >= 0
        gone = np.zeros(len(found), dtype=bool)
        gone[hit] = np.asarray(deleted)[found[hit]]
        found[gone] = -1
    return found


_Order = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _by_id_and_time_units(
    f_codes: np.ndarray,
    feature_ns: np.ndarray,
    e_codes: np.ndarray,
    entity_ns: np.ndarray,
    row_bits: int,
) -> _Order | None:
    """Sort rows by (id, time) packed with the row number into one int64, if it fits.

    Timestamps usually have a coarse resolution (seconds, microseconds): divided by their
    common step they need few bits, and one plain sort of integers is far cheaper than a
    lexicographic argsort. Returns the sorted (id, time) keys, the rows in that order, their
    ids, each entity's query key and time unit (-1: before every feature row), and which
    neighbours are duplicates; None if the keys do not fit.
    """
    low = int(feature_ns.min())
    step = int(np.gcd.reduce(feature_ns - low)) or 1
    units = (feature_ns - low) // step
    top = int(units.max())
    unit_bits = max(1, top.bit_length())
    if max(1, int(f_codes.max()).bit_length()) + unit_bits + row_bits > 63:
        return None
    e_units = (np.clip(entity_ns, low - step, low + top * step) - low) // step
    packed = (f_codes << (unit_bits + row_bits)) | (units << row_bits)
    packed |= np.arange(len(units), dtype=np.int64)
    packed.sort()
    rows = packed & ((1 << row_bits) - 1)
    keys = packed >> row_bits
    query = (e_codes << unit_bits) | np.maximum(e_units, 0)
    return keys, rows, keys >> unit_bits, query, e_units, keys[1:] == keys[:-1]


def _by_id_and_rank(
    f_codes: np.ndarray,
    feature_ns: np.ndarray,
    e_codes: np.ndarray,
    entity_ns: np.ndarray,
    row_bits: int,
) -> _Order:
    """Like :func:`_by_id_and_time_units`, with times replaced by their rank (any times)."""
    n = len(feature_ns)
    by_time = np.argsort(feature_ns)
    upto = _sorted_search(feature_ns[by_time], np.clip(entity_ns, int(feature_ns.min()) - 1, None))
    ranked = (f_codes[by_time] << row_bits) | np.arange(n, dtype=np.int64)
    ranked.sort()
    rows = by_time[ranked & ((1 << row_bits) - 1)]
    codes = ranked >> row_bits
    query = (e_codes << row_bits) | np.maximum(upto - 1, 0)
    times = feature_ns[rows]
    same = (codes[1:] == codes[:-1]) & (times[1:] == times[:-1])
    return ranked, rows, codes, query, upto - 1, same


def _sorted_search(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """``searchsorted(side="right")``, searching the needles in order (cache-friendly)."""
    order = np.argsort(needles)
    out = np.empty(len(needles), dtype=np.int64)
    out[order] = np.searchsorted(haystack, needles[order], side="right")
    return out


def _newest_writes(rows: np.ndarray, same: np.ndarray, write_ns: np.ndarray | None) -> np.ndarray:
    """Within each run of duplicates, move the row written last to the run's end."""
    rows = rows.copy()
    starts = np.append(True, ~same)
    run = np.cumsum(starts) - 1
    in_dup = np.append(same, False) | np.append(False, same)
    members = np.flatnonzero(in_dup)
    writes = (
        np.zeros(len(members), dtype=np.int64)
        if write_ns is None
        else np.asarray(write_ns)[rows[members]]
    )
    # order members by (run, write time, original row): the last of each run wins
    order = np.lexsort((rows[members], writes, run[members]))
    ordered = members[order]
    last_of_run = np.append(run[ordered][1:] != run[ordered][:-1], True)
    winners = rows[ordered[last_of_run]]
    ends = np.flatnonzero(np.append(~same, True))
    run_of_end = run[ends]
    dup_runs = np.unique(run[members])
    positions = ends[np.searchsorted(run_of_end, dup_runs)]
    rows[positions] = winners
    return rows


def point_in_time_join(
    entities: pd.DataFrame,
    features: pd.DataFrame | pa.Table,
    *,
    entity_id: str,
    entity_time: str,
    feature_id: str,
    feature_time: str,
    columns: list[str] | None = None,
    write_time: str | None = "write_time",
    deleted: str | None = "is_deleted",
) -> pd.DataFrame:
    """The entity rows, in their order, with the as-of feature values added.

    Args:
        entities: rows to label with features (any other columns are kept).
        features: feature rows: all versions of every record (e.g. the offline store).
        entity_id: the entities' record-id column.
        entity_time: the entities' time column.
        feature_id: the features' record-id column.
        feature_time: the features' event-time column.
        columns: the feature columns to add (default: all but id, time and system columns).
        write_time: the column that orders duplicates (None: the last row wins).
        deleted: the deletion-marker column (None: no deletions).

    Raises:
        InputDataError: a column is missing, a time cannot be parsed, or an added column
            would replace an entity column.
    """
    import pandas as pd
    import pyarrow as pa

    table = features if isinstance(features, pa.Table) else None
    names = table.column_names if table is not None else list(features.columns)
    for needed, where, have in (
        (entity_id, "entities", entities.columns),
        (entity_time, "entities", entities.columns),
        (feature_id, "features", names),
        (feature_time, "features", names),
    ):
        if needed not in have:
            raise InputDataError(
                f"the {where} have no column {needed!r}",
                hint=f"they have: {', '.join(map(str, have))}",
            )
    system = {feature_id, feature_time, write_time, deleted, "api_invocation_time"}
    wanted = [c for c in names if c not in system] if columns is None else list(columns)
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InputDataError(
            f"unknown feature(s) {', '.join(map(repr, missing))}",
            hint=f"the features are: {', '.join(c for c in names if c not in system)}",
        )
    clash = [c for c in wanted if c in entities.columns]
    if clash:
        raise InputDataError(
            f"feature(s) {', '.join(map(repr, clash))} would replace entity column(s)",
            hint="rename the entity columns, or choose the features to add",
        )

    def column(name: str) -> Any:
        if table is not None:
            return table.column(name).to_pandas()
        return features[name]

    found = as_of_rows(
        column(feature_id).to_numpy(),
        to_ns(column(feature_time), "feature event time"),
        entities[entity_id].to_numpy(),
        to_ns(entities[entity_time], "entity time"),
        None if write_time is None or write_time not in names else to_ns(column(write_time)),
        None
        if deleted is None or deleted not in names
        else column(deleted).fillna(False).to_numpy(dtype=bool),
    )
    out = entities.copy()
    if table is not None:
        picked = table.select(wanted).take(pa.array(found, mask=found < 0))
        for name in wanted:
            out[name] = picked.column(name).to_pandas().to_numpy()
        return out
    for name in wanted:
        values = pd.Series(features[name].to_numpy()[np.maximum(found, 0)], index=out.index)
        out[name] = values.where(found >= 0)
    return out


def merge_asof_reference(
    entities: pd.DataFrame,
    features: pd.DataFrame,
    *,
    entity_id: str,
    entity_time: str,
    feature_id: str,
    feature_time: str,
    columns: list[str],
    write_time: str | None = "write_time",
    deleted: str | None = "is_deleted",
) -> pd.DataFrame:
    """The same join with ``pandas.merge_asof`` (slower; for tests and benchmarks).

    Times must already be comparable (numbers or datetimes) in both frames.
    """
    import pandas as pd

    order = [feature_id, feature_time] + ([write_time] if write_time else [])
    latest = features.sort_values(order, kind="stable").drop_duplicates(
        [feature_id, feature_time], keep="last"
    )
    right = latest[[feature_id, feature_time, *columns] + ([deleted] if deleted else [])]
    right = right.rename(columns={feature_id: entity_id, feature_time: "__t"}).sort_values("__t")
    left = entities.assign(__row=np.arange(len(entities)), __t=entities[entity_time])
    merged = pd.merge_asof(
        left.sort_values("__t"), right, on="__t", by=entity_id, direction="backward"
    )
    merged = merged.sort_values("__row").set_index(entities.index)
    if deleted:
        gone = merged[deleted].fillna(False).astype(bool)
        for name in columns:
            merged[name] = merged[name].where(~gone)
        merged = merged.drop(columns=[deleted])
    return merged.drop(columns=["__row", "__t"])
