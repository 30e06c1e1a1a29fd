"""Read CSV/TSV, JSON lines and Parquet from the lake into pandas, whole or in chunks."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from sagebox.backends.storage.hive import partition_values
from sagebox.errors import InputDataError
from sagebox.lake._csv import BadLine, read_delimited
from sagebox.lake._encoding import SAMPLE_BYTES, detect_encoding
from sagebox.lake._formats import FileFormat, format_of
from sagebox.lake._location import Location, locate

if TYPE_CHECKING:
    from sagebox.session import Session

__all__ = ["LakeFile", "LakeWarning", "list_files", "read_csv", "read_json", "read_parquet"]

OnBadLines = Literal["fail", "skip"]


class LakeWarning(UserWarning):
    """Something was read, but not all of it as given: skipped rows, widened column types."""


@dataclass(frozen=True)
class LakeFile:
    """One data file of a read: where it is, its format and its Hive partition values."""

    location: Location
    format: FileFormat
    size: int
    partition: tuple[tuple[str, str | None], ...] = ()

    @property
    def uri(self) -> str:
        """The file's full URI."""
        return self.location.uri

    def open(self) -> IO[bytes]:
        """Open the (possibly compressed) file for binary reading."""
        fs, root = self.location.store.filesystem()
        handle: IO[bytes] = fs.open(f"{root.rstrip('/')}/{self.location.key}", "rb")
        return handle


def list_files(
    location: str | Location, kinds: tuple[str, ...], session: Session | None = None
) -> list[LakeFile]:
    """The data files of ``kinds`` (csv, json, parquet) that a location names.

    An object named exactly is read whatever its suffix; under a prefix or glob, files are
    chosen by suffix and the others are ignored. Empty files are skipped.

    Raises:
        InputDataError: if nothing, or nothing of these kinds, is there.
    """
    loc = location if isinstance(location, Location) else locate(location, session)
    infos = loc.objects()
    if not infos:
        raise InputDataError(
            f"nothing stored at {loc.uri}",
            hint=f"check the key, prefix or glob; `sagebox lake ls {_parent(loc)}` lists "
            "what is there",
        )
    exact = len(infos) == 1 and infos[0].key == loc.key
    files, others = [], []
    for info in infos:
        fmt = format_of(info.key)
        if exact and (fmt is None or fmt.kind not in kinds):
            compression = "gzip" if info.key.lower().endswith(".gz") else None
            fmt = FileFormat(kinds[0], "," if kinds[0] == "csv" else None, compression)
        if fmt is None or fmt.kind not in kinds:
            others.append(info.key)
            continue
        if info.size == 0 and not exact:
            continue
        relative = info.key[len(loc.folder) + 1 :] if loc.folder else info.key
        partition = () if exact or loc.is_glob else tuple(partition_values(relative))
        files.append(LakeFile(loc.at(info.key), fmt, info.size, partition))
    if not files:
        shown = ", ".join(k.rsplit("/", 1)[-1] for k in others[:5])
        raise InputDataError(
            f"no {'/'.join(kinds)} files at {loc.uri} (found {len(others)} other file(s): {shown})",
            hint="use the reader for that format, or point at the right prefix",
        )
    return files


def read_csv(
    location: str | Location,
    *,
    sep: str | None = None,
    on_bad_lines: OnBadLines = "fail",
    chunksize: int | None = None,
    session: Session | None = None,
    **kwargs: Any,
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Read CSV or TSV files (gzip-compressed too) into one DataFrame, or chunks of it.

    Args:
        location: one key, a prefix (every ``.csv``/``.tsv``/``.gz`` file under it) or a glob,
            as a lake key, a local path or a URI.
        sep: field delimiter; by default ``\\t`` for ``.tsv`` files and ``,`` otherwise.
        on_bad_lines: ``"fail"`` raises on the first malformed row naming its file and line;
            ``"skip"`` drops such rows, warns with their count and lists them in
            ``df.attrs["skipped_lines"]``.
        chunksize: yield frames of at most this many rows instead of one frame.
        session: whose lake and settings to use (a default session if None).
        **kwargs: passed on to :func:`pandas.read_csv` (``usecols``, ``dtype`` ...).

    Returns:
        One DataFrame (Hive partition folders become columns), or an iterator of frames.

    Raises:
        InputDataError: nothing at the location, a malformed row (with ``"fail"``), invalid
            UTF-8.

    Example:
        >>> from sagebox import lake
        >>> df = lake.read_csv("raw/reviews/")  # doctest: +SKIP
        >>> for chunk in lake.read_csv("raw/reviews/", chunksize=10_000): ...  # doctest: +SKIP
    """
    _check_policy(on_bad_lines)
    files = list_files(location, ("csv",), session)
    bad: list[BadLine] = []

    def frames(file: LakeFile) -> Iterator[pd.DataFrame]:
        return read_delimited(
            file.open,
            file.uri,
            sep=sep or file.format.delimiter or ",",
            compression=file.format.compression,
            on_bad_lines=on_bad_lines,
            chunksize=chunksize,
            kwargs=kwargs,
            bad_lines=bad,
        )

    return _assemble(files, frames, chunksize, bad)


def read_json(
    location: str | Location,
    *,
    on_bad_lines: OnBadLines = "fail",
    chunksize: int | None = None,
    session: Session | None = None,
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Read JSON lines files (one object per line, gzip too) like :func:`read_csv`.

    A line that is not a JSON object is malformed: ``"fail"`` raises naming its file and line,
    ``"skip"`` drops it and reports it as :func:`read_csv` does.
    """
    _check_policy(on_bad_lines)
    files = list_files(location, ("json",), session)
    bad: list[BadLine] = []

    def frames(file: LakeFile) -> Iterator[pd.DataFrame]:
        return _json_frames(file, on_bad_lines, chunksize, bad)

    return _assemble(files, frames, chunksize, bad)


def read_parquet(
    location: str | Location,
    *,
    columns: list[str] | None = None,
    chunksize: int | None = None,
    session: Session | None = None,
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Read Parquet files (a single file, a dataset folder with Hive partitions, a glob).

    Files that a dataset write has not committed, or that an overwrite replaced, are skipped.

    Raises:
        InputDataError: nothing at the location, or a file that is not valid Parquet.
    """
    files = list_files(location, ("parquet",), session)

    def frames(file: LakeFile) -> Iterator[pd.DataFrame]:
        return _parquet_frames(file, columns, chunksize)

    return _assemble(files, frames, chunksize, [])


def _assemble(
    files: list[LakeFile],
    frames: Callable[[LakeFile], Iterator[pd.DataFrame]],
    chunksize: int | None,
    bad: list[BadLine],
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    numeric = _numeric_partitions(files)
    if chunksize is not None:
        _check_chunksize(chunksize)
        return _chunked(files, frames, numeric, bad)
    parts = [_with_partition(f, frame, numeric) for f in files for frame in frames(f)]
    df, widened = _concat(parts)
    _report(bad, widened)
    df.attrs["files"] = len(files)
    df.attrs["skipped_lines"] = [str(b) for b in bad]
    df.attrs["widened"] = widened
    return df


def _chunked(
    files: list[LakeFile],
    frames: Callable[[LakeFile], Iterator[pd.DataFrame]],
    numeric: set[str],
    bad: list[BadLine],
) -> Iterator[pd.DataFrame]:
    for file in files:
        for frame in frames(file):
            yield _with_partition(file, frame, numeric)
    _report(bad, {})


def _with_partition(file: LakeFile, frame: pd.DataFrame, numeric: set[str]) -> pd.DataFrame:
    for key, value in file.partition:
        if key in frame.columns:
            continue
        if key in numeric:
            typed = None if value is None else int(value)
            frame[key] = pd.array([typed] * len(frame), dtype="Int64")
        else:
            frame[key] = pd.Series([value] * len(frame), index=frame.index, dtype="str")
    return frame


def _numeric_partitions(files: list[LakeFile]) -> set[str]:
    """Partition keys whose every value is an integer (typed as such, as DuckDB does)."""
    values: dict[str, set[str | None]] = {}
    for file in files:
        for key, value in file.partition:
            values.setdefault(key, set()).add(value)
    return {
        key
        for key, seen in values.items()
        if all(v is None or v.lstrip("-").isdigit() for v in seen) and seen - {None}
    }


def _concat(parts: list[pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Concatenate frames, widening a column whose type differs between them; say which."""
    if len(parts) == 1:
        return parts[0], {}
    widened: dict[str, str] = {}
    kinds: dict[str, set[str]] = {}
    for part in parts:
        for name, dtype in part.dtypes.items():
            if len(part) and not part[name].isna().all():
                kinds.setdefault(str(name), set()).add(_kind(dtype))
    for name, seen in kinds.items():
        if len(seen) < 2:
            continue
        target = "float64" if seen <= {"int", "float"} else "str"
        widened[name] = f"{' + '.join(sorted(seen))} -> {target}"
        for part in parts:
            if name in part.columns:
                part[name] = (
                    part[name].astype(target) if target == "float64" else _as_str(part[name])
                )
    return pd.concat(parts, ignore_index=True), widened


def _kind(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "str"


def _as_str(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v if pd.isna(v) else str(v)).astype("str")


def _report(bad: list[BadLine], widened: dict[str, str]) -> None:
    if bad:
        shown = "; ".join(str(b) for b in bad[:3]) + (" ..." if len(bad) > 3 else "")
        warnings.warn(f"skipped {len(bad)} malformed row(s): {shown}", LakeWarning, stacklevel=4)
    if widened:
        shown = ", ".join(f"{name} ({how})" for name, how in widened.items())
        warnings.warn(f"widened mixed column types: {shown}", LakeWarning, stacklevel=4)


def _json_frames(
    file: LakeFile, on_bad_lines: str, chunksize: int | None, bad: list[BadLine]
) -> Iterator[pd.DataFrame]:
    import gzip

    records: list[dict[str, Any]] = []
    with file.open() as raw:
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if file.format.compression else raw
        try:
            encoding = detect_encoding(binary.read(SAMPLE_BYTES), file.uri)
        except (OSError, EOFError) as exc:
            raise InputDataError(
                f"{file.uri}: cannot read the file ({exc})", hint="re-compress or re-export it"
            ) from None
    with file.open() as raw:
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if file.format.compression else raw
        text = io.TextIOWrapper(binary, encoding=encoding, errors="strict")
        try:
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise ValueError(f"a JSON {type(record).__name__}, not an object")
                except ValueError as exc:
                    detail = str(exc).split(":")[0]
                    if on_bad_lines == "fail":
                        raise InputDataError(
                            f"{file.uri}: malformed JSON line {number}: {detail}",
                            hint="each line must be one JSON object; or read with "
                            "on_bad_lines='skip'",
                        ) from None
                    bad.append(BadLine(file.uri, number, detail))
                    continue
                records.append(record)
                if chunksize is not None and len(records) >= chunksize:
                    yield pd.DataFrame.from_records(records)
                    records = []
        except UnicodeDecodeError as exc:
            raise InputDataError(
                f"{file.uri}: not valid {encoding} text ({exc.reason})",
                hint="re-save the whole file as UTF-8",
            ) from None
        except (OSError, EOFError) as exc:  # a truncated gzip stream
            raise InputDataError(
                f"{file.uri}: cannot read the file ({exc})", hint="re-compress or re-export it"
            ) from None
    if records or chunksize is None:
        yield pd.DataFrame.from_records(records)


def _parquet_frames(
    file: LakeFile, columns: list[str] | None, chunksize: int | None
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with file.open() as handle:
        try:
            reader = pq.ParquetFile(handle)
            if chunksize is None:
                yield reader.read(columns=columns).to_pandas()
                return
            for batch in reader.iter_batches(batch_size=chunksize, columns=columns):
                yield pa.Table.from_batches([batch]).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise InputDataError(
                f"{file.uri}: not a valid Parquet file ({str(exc).splitlines()[0]})",
                hint="re-export the file, or delete it from the dataset",
            ) from None


def _check_policy(on_bad_lines: str) -> None:
    if on_bad_lines not in ("fail", "skip"):
        raise InputDataError(
            f"unknown on_bad_lines policy {on_bad_lines!r}", hint="use 'fail' or 'skip'"
        )


def _check_chunksize(chunksize: int) -> None:
    if chunksize < 1:
        raise InputDataError(f"chunksize must be at least 1, got {chunksize}", hint="e.g. 10000")


def _parent(loc: Location) -> str:
    folder = loc.folder.rpartition("/")[0]
    return loc.store.url(folder) if folder else loc.store.uri
