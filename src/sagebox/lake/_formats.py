"""File formats of the lake: recognised by suffix, or sniffed from a file's first bytes."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

__all__ = ["DATA_SUFFIXES", "FileFormat", "format_of", "sniff_format"]

_GZIP_SUFFIXES = (".gz", ".gzip")
_KINDS = {
    ".csv": ("csv", ","),
    ".tsv": ("csv", "\t"),
    ".tab": ("csv", "\t"),
    ".json": ("json", None),
    ".jsonl": ("json", None),
    ".ndjson": ("json", None),
    ".parquet": ("parquet", None),
    ".parq": ("parquet", None),
    ".pq": ("parquet", None),
}
#: every suffix the lake reads as data (without a compression suffix)
DATA_SUFFIXES = tuple(_KINDS)
_DELIMITERS = (",", "\t", "|", ";")


@dataclass(frozen=True)
class FileFormat:
    """How a file is encoded: ``kind`` (csv, json or parquet), delimiter and compression.

    TSV is ``kind="csv"`` with ``delimiter="\\t"``; JSON means JSON lines (one object a line).

    Example:
        >>> format_of("raw/reviews.tsv.gz")
        FileFormat(kind='csv', delimiter='\\t', compression='gzip')
    """

    kind: str
    delimiter: str | None = None
    compression: str | None = None

    @property
    def name(self) -> str:
        """A short label such as ``csv``, ``tsv+gzip`` or ``parquet``."""
        label = "tsv" if self.kind == "csv" and self.delimiter == "\t" else self.kind
        return f"{label}+{self.compression}" if self.compression else label


def format_of(key: str) -> FileFormat | None:
    """The format a key's suffix names (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet``, + ``.gz``).

    Returns ``None`` for any other suffix.
    """
    name = key.rsplit("/", 1)[-1].lower()
    compression = None
    for suffix in _GZIP_SUFFIXES:
        if name.endswith(suffix):
            name, compression = name[: -len(suffix)], "gzip"
            break
    for suffix, (kind, delimiter) in _KINDS.items():
        if name.endswith(suffix):
            if kind == "parquet":
                compression = None  # Parquet compresses inside the file
            return FileFormat(kind, delimiter, compression)
    return None


def sniff_format(head: bytes) -> FileFormat | None:
    """Guess the format of a file from its first bytes (a few KiB are plenty).

    Recognises Parquet by its magic number, gzip by its header (then sniffs the content),
    JSON lines by a leading ``{``, and delimited text by the most frequent of ``, \\t | ;`` on
    its first line. Returns ``None`` for binary data it does not know.
    """
    if head.startswith(b"PAR1"):
        return FileFormat("parquet")
    if head.startswith(b"\x1f\x8b"):
        inner = _gunzip_head(head)
        found = sniff_format(inner) if inner else None
        if found is None or found.kind == "parquet":
            return None
        return FileFormat(found.kind, found.delimiter, "gzip")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return None
        text = head[: exc.start].decode("utf-8-sig")
    if "\x00" in text:
        return None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return FileFormat("json")
    first = stripped.split("\n", 1)[0]
    counts = {d: first.count(d) for d in _DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        return FileFormat("csv", ",") if first else None
    return FileFormat("csv", delimiter)


def _gunzip_head(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(wbits=31).decompress(data, 65536)
    except (zlib.error, gzip.BadGzipFile):
        return b""
