"""Infer a dataset's format, columns and size by sampling a few of its files.

Parquet schemas come from file footers. CSV/TSV and JSON lines are read for their first
rows (``sample_rows``, at most about 1 MiB of text a file) and typed with pandas; a column whose
samples disagree is widened (``bigint`` + ``string`` → ``string``) and reported. Row counts are
exact for files read to the end and estimated from bytes per row otherwise.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast

from sagebox.catalog.types import from_arrow, from_pandas, widen
from sagebox.lake import (
    ENCODING_SAMPLE_BYTES,
    FileFormat,
    detect_encoding,
    format_of,
    sniff_format,
)

if TYPE_CHECKING:
    from sagebox.backends.storage.base import ObjectInfo, ObjectStore

__all__ = ["Schema", "choose_format", "infer_schema"]

_SAMPLE_BYTES = 1 << 20
#: up to this many Parquet files, row counts come from every footer, not from a sample
_EXACT_PARQUET_FILES = 64
_SNIFF_SUFFIXES = ("", ".txt", ".dat", ".data", ".gz", ".out")


@dataclass
class Schema:
    """What sampling found: columns (name → type, in order), size and what was odd."""

    columns: dict[str, str] = field(default_factory=dict)
    row_count: int | None = None
    varying_columns: bool = False
    widened: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sampled: int = 0
    #: text encoding of the sampled files (CSV/JSON): utf-8, utf-16 or latin-1
    encoding: str = "utf-8"


def choose_format(
    store: ObjectStore, files: list[ObjectInfo]
) -> tuple[FileFormat | None, list[ObjectInfo], list[str]]:
    """The dataset's format (the most common one), the files in it, and notes on the rest."""
    formats: dict[str, FileFormat | None] = {}
    for info in files:
        fmt = format_of(info.key)
        if fmt is None and _sniffable(info.key):
            fmt = _sniff(store, info.key)
        formats[info.key] = fmt
    kinds = Counter((f.kind, f.delimiter) for f in formats.values() if f is not None)
    notes = []
    skipped = [k for k, f in formats.items() if f is None]
    if skipped:
        notes.append(f"{len(skipped)} file(s) of unknown format ignored, e.g. {skipped[0]}")
    if not kinds:
        return None, [], notes
    (kind, delimiter), _ = kinds.most_common(1)[0]
    chosen = [
        i
        for i in files
        if formats[i.key] is not None
        and (formats[i.key].kind, formats[i.key].delimiter) == (kind, delimiter)  # type: ignore[union-attr]
    ]
    others = len(files) - len(skipped) - len(chosen)
    if others:
        notes.append(f"{others} file(s) in another format than {kind} ignored")
    compressions = {formats[i.key].compression for i in chosen}  # type: ignore[union-attr]
    compression = compressions.pop() if len(compressions) == 1 else "mixed"
    return FileFormat(kind, delimiter, compression), chosen, notes


def _sniffable(key: str) -> bool:
    name = key.rsplit("/", 1)[-1].lower()
    suffix = "" if "." not in name else "." + name.rsplit(".", 1)[-1]
    return suffix in _SNIFF_SUFFIXES


def _sniff(store: ObjectStore, key: str) -> FileFormat | None:
    fs, root = store.filesystem()
    with fs.open(f"{root.rstrip('/')}/{key}", "rb") as handle:
        return sniff_format(handle.read(8192))


def sample_files(files: list[ObjectInfo], count: int) -> list[ObjectInfo]:
    """Up to ``count`` files spread evenly over the list (first and last included)."""
    if len(files) <= count:
        return list(files)
    if count <= 1:
        return files[:1]
    step = (len(files) - 1) / (count - 1)
    return [files[round(i * step)] for i in range(count)]


def infer_schema(
    store: ObjectStore,
    files: list[ObjectInfo],
    fmt: FileFormat,
    *,
    sample_files_count: int,
    sample_rows: int,
    partition_keys: list[str],
) -> Schema:
    """Sample ``files`` and merge what they say into one :class:`Schema`."""
    schema = Schema()
    seen: dict[str, dict[str, str]] = {}
    encodings: dict[str, str] = {}
    sampled_rows, sampled_bytes = 0, 0
    sample = sample_files(files, sample_files_count)
    for info in sample:
        try:
            columns, rows, exact, encodings[info.key] = _sample_one(store, info, fmt, sample_rows)
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, not fatal
            schema.warnings.append(f"could not read {info.key}: {_reason(exc)}")
            continue
        schema.sampled += 1
        names = [c for c in columns if c not in partition_keys]
        if schema.columns and names != list(schema.columns)[: len(names)]:
            schema.varying_columns = True
        for name in names:
            seen.setdefault(name, {})[info.key] = columns[name]
            schema.columns[name] = widen(schema.columns.get(name, columns[name]), columns[name])
        sampled_rows, sampled_bytes = sampled_rows + rows, sampled_bytes + info.size
    for name, by_file in seen.items():
        if len(set(by_file.values())) > 1:
            shown = ", ".join(f"{t} in {k.rsplit('/', 1)[-1]}" for k, t in by_file.items())
            schema.widened[name] = f"{shown} -> {schema.columns[name]}"
    if encodings:
        counts = Counter(encodings.values())
        schema.encoding = counts.most_common(1)[0][0]
        if len(counts) > 1:
            shown = ", ".join(f"{k.rsplit('/', 1)[-1]} is {e}" for k, e in encodings.items())
            schema.warnings.append(
                f"files in mixed encodings ({shown}); all are read as {schema.encoding}: "
                "re-save them as UTF-8"
            )
        elif schema.encoding != "utf-8":
            schema.warnings.append(f"files are {schema.encoding} text (recorded in the table)")
    if schema.sampled:
        total = sum(f.size for f in files)
        schema.row_count = round(sampled_rows * total / max(1, sampled_bytes))
        if fmt.kind == "parquet" and len(sample) < len(files) <= _EXACT_PARQUET_FILES:
            schema.row_count = _parquet_rows(store, files, schema.row_count)
    return schema


def _parquet_rows(store: ObjectStore, files: list[ObjectInfo], fallback: int) -> int:
    """The exact row count from every file's footer (a small read per file)."""
    import pyarrow.parquet as pq

    try:
        total = 0
        for info in files:
            with _open(store, info.key) as handle:
                total += int(pq.ParquetFile(handle).metadata.num_rows)
        return total
    except Exception:  # noqa: BLE001 - an unreadable file was already reported
        return fallback


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _open(store: ObjectStore, key: str) -> IO[bytes]:
    fs, root = store.filesystem()
    handle: IO[bytes] = fs.open(f"{root.rstrip('/')}/{key}", "rb")
    return handle


def _sample_one(
    store: ObjectStore, info: ObjectInfo, fmt: FileFormat, sample_rows: int
) -> tuple[dict[str, str], int, bool, str]:
    """Column types, the file's rows (estimated from the bytes read if not read to the end),
    whether that count is exact, and the file's text encoding.

    Raises:
        InputDataError: a text file that is binary or in an encoding DuckDB cannot read.
    """
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        with _open(store, info.key) as handle:
            parquet = pq.ParquetFile(handle)
            columns = {f.name: from_arrow(f.type) for f in parquet.schema_arrow}
            return columns, int(parquet.metadata.num_rows), True, "utf-8"
    gzipped = fmt.compression == "gzip" or info.key.lower().endswith((".gz", ".gzip"))
    with _open(store, info.key) as raw:
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if gzipped else raw
        encoding = detect_encoding(binary.read(ENCODING_SAMPLE_BYTES), info.key)
    with _open(store, info.key) as raw:
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if gzipped else raw
        text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
        lines, consumed, complete = _head(text, fmt, sample_rows)
    columns = _type_lines(lines, fmt)
    rows = max(0, len(lines) - (1 if fmt.kind == "csv" else 0))
    if complete:
        return columns, rows, True, encoding
    size = _uncompressed_size(store, info) if gzipped else info.size
    return columns, int(rows * size / max(1, consumed)), False, encoding


def _head(text: IO[str], fmt: FileFormat, sample_rows: int) -> tuple[list[str], int, bool]:
    """The first records of a text file (whole records, quoted newlines kept together)."""
    counter = _Counting(text)
    lines: list[str] = []
    if fmt.kind == "json":
        for line in counter:
            if line.strip():
                lines.append(line)
            if len(lines) >= sample_rows or counter.chars >= _SAMPLE_BYTES:
                return lines, counter.chars, _at_end(counter)
        return lines, counter.chars, True
    reader = csv.reader(counter.recording(), delimiter=fmt.delimiter or ",")
    try:
        for _ in reader:
            lines.append("".join(counter.take()))
            if len(lines) > sample_rows or counter.chars >= _SAMPLE_BYTES:
                return lines, counter.chars, _at_end(counter)
    except csv.Error:
        pass
    return lines, counter.chars, True


def _at_end(counter: _Counting) -> bool:
    return counter.peek() == ""


class _Counting:
    """Lines of a text stream, counting characters and remembering the current record's lines."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.chars = 0
        self._pending: list[str] = []
        self._next: str | None = None

    def __iter__(self) -> Iterator[str]:
        while True:
            line = self._read()
            if not line:
                return
            yield line

    def recording(self) -> Iterator[str]:
        for line in self:
            self._pending.append(line)
            yield line

    def take(self) -> list[str]:
        out, self._pending = self._pending, []
        return out

    def peek(self) -> str:
        if self._next is None:
            self._next = self.text.readline()
        return self._next

    def _read(self) -> str:
        line = self._next if self._next is not None else self.text.readline()
        self._next = None
        self.chars += len(line.encode("utf-8"))
        return line


def _type_lines(lines: list[str], fmt: FileFormat) -> dict[str, str]:
    import pandas as pd

    if fmt.kind == "json":
        records = []
        for line in lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        frame = pd.DataFrame.from_records(records)
    else:
        frame = pd.read_csv(
            io.StringIO("".join(lines)),
            sep=fmt.delimiter or ",",
            index_col=False,
            on_bad_lines="skip",
            low_memory=False,
        )
    return {str(name): from_pandas(frame[name]) for name in frame.columns}


def _uncompressed_size(store: ObjectStore, info: ObjectInfo) -> int:
    """gzip's size trailer (uncompressed bytes mod 2**32), or a 4x guess if unreadable."""
    try:
        with _open(store, info.key) as handle:
            handle.seek(-4, 2)
            (size,) = struct.unpack("<I", handle.read(4))
        return size if size >= info.size else size + (1 << 32)
    except (OSError, ValueError, struct.error):
        return info.size * 4


def partition_type(values: list[str | None]) -> str:
    """``bigint`` if every value of a partition key is an integer, else ``string``."""
    present = [v for v in values if v is not None]
    if present and all(v.lstrip("-").isdigit() for v in present):
        return "bigint"
    return "string"


def merge_types(old: dict[str, str], new: dict[str, str]) -> dict[str, Any]:
    """What changes from ``old`` columns to ``new``: added columns and widened types."""
    added = [name for name in new if name not in old]
    changed = {
        name: f"{old[name]} -> {widen(old[name], new[name])}"
        for name in new
        if name in old and widen(old[name], new[name]) != old[name]
    }
    missing = [name for name in old if name not in new]
    return {"added": added, "changed": changed, "missing": missing}
