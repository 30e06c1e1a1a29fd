"""Write DataFrames to the lake: Parquet datasets (partitioned, with write modes), CSV, JSON."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from sagebox.backends.storage.hive import is_hidden, partition_dir, partition_values
from sagebox.errors import InputDataError
from sagebox.lake._formats import format_of
from sagebox.lake._location import Location, locate
from sagebox.lake._state import Transaction, visible

if TYPE_CHECKING:
    import pyarrow as pa

    from sagebox.session import Session

__all__ = ["WriteMode", "WriteResult", "to_csv", "to_json", "to_parquet"]

WriteMode = Literal["append", "overwrite", "overwrite_partitions"]
_MODES = ("append", "overwrite", "overwrite_partitions")


@dataclass
class WriteResult:
    """What a write did: the location, the files it added and how many it replaced.

    Example:
        >>> result = to_parquet(df, "curated/reviews/", mode="overwrite")  # doctest: +SKIP
        >>> result.rows, len(result.files)  # doctest: +SKIP
        (19818, 1)
    """

    uri: str
    mode: str
    rows: int
    files: list[str] = field(default_factory=list)
    replaced: int = 0
    partitions: list[dict[str, Any]] = field(default_factory=list)


def to_parquet(
    df: pd.DataFrame | pa.Table,
    location: str | Location,
    *,
    partition_cols: list[str] | None = None,
    mode: WriteMode = "append",
    compression: str = "snappy",
    session: Session | None = None,
) -> WriteResult:
    """Write a frame as Parquet: one object, or a dataset folder with Hive partitions.

    A location ending in ``.parquet`` (without ``partition_cols``) is one object, written
    atomically. Anything else is a dataset folder, written in one commit: readers of the
    lake (``read_parquet``, SQL, the crawler) see all the new files at once or none, and a
    failure on the way leaves the existing data as it was.

    Args:
        df: the rows (a pandas DataFrame or a pyarrow Table).
        location: lake key, path or URI of the object or folder.
        partition_cols: columns that become ``col=value/`` folders (and leave the files).
        mode: ``"append"`` adds files; ``"overwrite"`` replaces the whole dataset;
            ``"overwrite_partitions"`` replaces only the partitions present in ``df``.
        compression: Parquet codec (``snappy``, ``zstd``, ``gzip``, ``none``).
        session: whose lake and settings to use.

    Returns:
        A :class:`WriteResult`.

    Raises:
        InputDataError: unknown mode or partition column, all columns used as partitions,
            appending to a single-object location.

    Example:
        >>> from sagebox import lake
        >>> lake.to_parquet(df, "curated/reviews/", partition_cols=["product_category"],
        ...                 mode="overwrite_partitions")  # doctest: +SKIP
    """
    import pyarrow as pa

    if mode not in _MODES:
        raise InputDataError(
            f"unknown write mode {mode!r}", hint=f"use one of: {', '.join(_MODES)}"
        )
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    keys = list(partition_cols or [])
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise InputDataError(
            f"partition column(s) {', '.join(map(repr, missing))} not in the data",
            hint=f"columns: {', '.join(table.column_names)}",
        )
    if keys and len(keys) == len(table.column_names):
        raise InputDataError(
            "every column is a partition column; nothing would be left in the files",
            hint="partition by fewer columns",
        )
    loc = location if isinstance(location, Location) else locate(location, session)
    if loc.is_glob:
        raise InputDataError(f"cannot write to a glob ({loc.text})", hint="give a folder or key")
    fmt = format_of(loc.key)
    if fmt is not None and fmt.kind == "parquet" and not keys and not loc.key.endswith("/"):
        return _write_single(table, loc, mode, compression)
    return _write_dataset(table, loc, keys, mode, compression)


def _write_single(table: pa.Table, loc: Location, mode: str, compression: str) -> WriteResult:
    if mode == "append" and loc.store.exists(loc.key):
        raise InputDataError(
            f"cannot append to the single Parquet object {loc.uri}",
            hint="write to a folder (e.g. drop the .parquet suffix) to append, or use "
            "mode='overwrite'",
        )
    loc.store.write_bytes(loc.key, _parquet_bytes(table, compression))
    return WriteResult(loc.uri, mode, table.num_rows, [loc.key])


def _write_dataset(
    table: pa.Table, loc: Location, keys: list[str], mode: str, compression: str
) -> WriteResult:
    folder = loc.folder
    groups = _split(table, keys)
    tx = Transaction(loc.store, folder)
    names = [
        (f"{partition_dir(keys, values)}/" if keys else "") + f"part-{tx.txid}-{n:05d}.parquet"
        for n, (values, _) in enumerate(groups)
    ]
    if mode == "overwrite_partitions" and not keys:
        raise InputDataError(
            "mode='overwrite_partitions' needs partition_cols",
            hint="name the partition columns, or use mode='overwrite'",
        )
    touched = {partition_dir(keys, values) for values, _ in groups}

    def replaced() -> list[str]:
        # Called at the commit point (and on each retry of it): an overwrite replaces what
        # is visible then, including what concurrent writers committed meanwhile.
        if mode == "overwrite":
            return _existing(loc)
        if mode == "overwrite_partitions":
            return [rel for rel in _existing(loc) if _partition_of(rel, keys) in touched]
        return []

    tx.begin(names)
    try:
        for name, (_, part) in zip(names, groups, strict=True):
            loc.store.write_bytes(
                f"{folder}/{name}" if folder else name, _parquet_bytes(part, compression)
            )
    except BaseException:
        tx.abort()
        raise
    removed = tx.commit(replaced)
    return WriteResult(
        loc.store.url(folder) if folder else loc.store.uri,
        mode,
        table.num_rows,
        [f"{folder}/{n}" if folder else n for n in names],
        removed,
        [dict(zip(keys, values, strict=True)) for values, _ in groups] if keys else [],
    )


def _split(table: pa.Table, keys: list[str]) -> list[tuple[list[Any], pa.Table]]:
    """The table's rows grouped by partition values (one group with no keys)."""
    if not keys:
        return [([], table)]
    if table.num_rows == 0:
        return []
    frame = table.select(keys).to_pandas()
    groups = frame.groupby(keys, dropna=False, sort=True).indices
    out = []
    for values, rows in groups.items():
        values = list(values) if isinstance(values, tuple) else [values]
        part = table.take(rows).drop_columns(keys)
        out.append(([None if pd.isna(v) else v for v in values], part))
    return out


def _existing(loc: Location) -> list[str]:
    """Visible Parquet files of the dataset, relative to its folder."""
    folder = loc.folder
    prefix = f"{folder}/" if folder else ""
    infos = visible(loc.store, loc.store.list(prefix))
    out = []
    for info in infos:
        rel = info.key[len(prefix) :]
        fmt = format_of(rel)
        if not is_hidden(rel) and fmt is not None and fmt.kind == "parquet":
            out.append(rel)
    return out


def _partition_of(relative: str, keys: list[str]) -> str:
    pairs = dict(partition_values(relative))
    return partition_dir(keys, [pairs.get(k) for k in keys])


def _parquet_bytes(table: pa.Table, compression: str) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=None if compression == "none" else compression)
    return buffer.getvalue()


def to_csv(
    df: pd.DataFrame,
    location: str | Location,
    *,
    sep: str | None = None,
    session: Session | None = None,
    **kwargs: Any,
) -> WriteResult:
    """Write a frame to one CSV/TSV object atomically (gzip-compressed if it ends in ``.gz``).

    Args:
        df: the rows.
        location: lake key, path or URI of the object, e.g. ``exports/reviews.csv.gz``.
        sep: delimiter; ``\\t`` for ``.tsv`` keys, ``,`` otherwise.
        session: whose lake and settings to use.
        **kwargs: passed on to :meth:`pandas.DataFrame.to_csv`.

    Raises:
        InputDataError: if the location is a folder or glob.
    """
    loc = _single_object(location, session, "CSV")
    fmt = format_of(loc.key)
    delimiter = sep or (fmt.delimiter if fmt and fmt.delimiter else ",")
    data = df.to_csv(sep=delimiter, index=False, **kwargs).encode("utf-8")
    return _put(loc, data, len(df))


def to_json(
    df: pd.DataFrame, location: str | Location, *, session: Session | None = None
) -> WriteResult:
    """Write a frame to one JSON lines object atomically (gzip if it ends in ``.gz``)."""
    loc = _single_object(location, session, "JSON lines")
    data = df.to_json(orient="records", lines=True, date_format="iso").encode("utf-8")
    return _put(loc, data, len(df))


def _single_object(location: str | Location, session: Session | None, what: str) -> Location:
    loc = location if isinstance(location, Location) else locate(location, session)
    if not loc.key or loc.key.endswith("/") or loc.is_glob:
        raise InputDataError(
            f"{what} is written to one object, not to {loc.text!r}",
            hint="give the object's key, e.g. exports/reviews.csv",
        )
    return loc


def _put(loc: Location, data: bytes, rows: int) -> WriteResult:
    if loc.key.lower().endswith((".gz", ".gzip")):
        data = gzip.compress(data, mtime=0)
    loc.store.write_bytes(loc.key, data)
    return WriteResult(loc.uri, "overwrite", rows, [loc.key])
