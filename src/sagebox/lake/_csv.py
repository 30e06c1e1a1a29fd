"""Delimited text with pandas: malformed rows reported by file and physical line, or skipped.

pandas numbers records (a quoted field may span lines), so its "line N" is turned into the line
of the file where that record starts, which is what an editor shows.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import pandas as pd

from sagebox.errors import InputDataError
from sagebox.lake._encoding import SAMPLE_BYTES, detect_encoding

__all__ = ["BadLine", "read_delimited"]

_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")
_EXPECTED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_HEADER_MISMATCH = "Length of header or names does not match length of data"
_HINT = "fix the quoting or the number of fields on that line, or read with on_bad_lines='skip'"


@dataclass(frozen=True)
class BadLine:
    """A malformed row that was skipped: the file's URI, its line (1-based) and the problem."""

    file: str
    line: int
    detail: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.detail}"


def read_delimited(
    open_file: Callable[[], IO[bytes]],
    uri: str,
    *,
    sep: str,
    compression: str | None,
    on_bad_lines: str,
    chunksize: int | None,
    kwargs: dict[str, Any],
    bad_lines: list[BadLine],
) -> Iterator[pd.DataFrame]:
    """Yield the file's rows as one frame, or as frames of ``chunksize`` rows.

    Args:
        open_file: opens the (possibly compressed) file for binary reading; called again to
            find line numbers when a row is malformed.
        uri: the file's URI, for messages.
        sep: the field delimiter.
        compression: ``"gzip"`` or None.
        on_bad_lines: ``"fail"`` (raise on the first malformed row) or ``"skip"``.
        chunksize: rows per frame, or None for one frame.
        kwargs: passed on to :func:`pandas.read_csv`.
        bad_lines: skipped rows are appended here (once the file has been read).

    Raises:
        InputDataError: a malformed row under ``"fail"``, invalid UTF-8 or an empty file.
    """
    parse = _Parse(uri, open_file, sep, compression)
    parse.encoding = str(kwargs.get("encoding") or parse.detect_encoding())
    leading = parse.leading_bad_records()
    if leading and on_bad_lines == "fail":
        _, line, detail = leading[0]
        raise InputDataError(f"{uri}: malformed CSV: line {line} {detail}", hint=_HINT)
    options = {
        "sep": sep,
        "compression": compression,
        "on_bad_lines": "error" if on_bad_lines == "fail" else "warn",
        "index_col": False,
        "encoding": parse.encoding,
        **kwargs,
    }
    if leading:
        options["skiprows"] = [record for record, _, _ in leading]
    with open_file() as handle:
        reader = parse.call(lambda: pd.read_csv(handle, chunksize=chunksize, **options))
        if chunksize is None:
            yield reader
        else:
            while True:
                try:
                    chunk = parse.call(lambda: next(reader))
                except StopIteration:
                    break
                yield chunk
    bad_lines.extend(BadLine(uri, line, detail) for _, line, detail in leading)
    bad_lines.extend(parse.skipped())


class _Parse:
    """One file's parse: translates pandas' errors and gathers its skipped-row warnings."""

    def __init__(
        self, uri: str, open_file: Callable[[], IO[bytes]], sep: str, compression: str | None
    ) -> None:
        self.uri = uri
        self.open_file = open_file
        self.sep = sep
        self.compression = compression
        self.messages: list[str] = []
        self.encoding = "utf-8"

    def detect_encoding(self) -> str:
        """The file's encoding, from its first bytes (refuses what cannot be read)."""
        import gzip

        with self.open_file() as raw:
            binary = (
                cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if self.compression == "gzip" else raw
            )
            try:
                head = binary.read(SAMPLE_BYTES)
            except (OSError, EOFError) as exc:  # a truncated or fake gzip stream
                raise InputDataError(
                    f"{self.uri}: not a readable gzip file ({exc})",
                    hint="re-compress the file, or remove the .gz suffix if it is not gzipped",
                ) from None
        return detect_encoding(head, self.uri)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run one pandas parsing step."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            try:
                result = fn()
            except UnicodeDecodeError as exc:  # past the sample that chose the encoding
                raise InputDataError(
                    f"{self.uri}: not valid {self.encoding} text ({exc.reason})",
                    hint="re-save the whole file as UTF-8 (e.g. with iconv -f <its encoding> "
                    "-t utf-8)",
                ) from None
            except (OSError, EOFError) as exc:  # a truncated or fake gzip stream
                raise InputDataError(
                    f"{self.uri}: cannot read the file ({exc})",
                    hint="re-compress or re-export the file",
                ) from None
            except pd.errors.EmptyDataError:
                raise InputDataError(
                    f"{self.uri}: file is empty", hint="give a file with a header and rows"
                ) from None
            except pd.errors.ParserError as exc:
                raise InputDataError(
                    f"{self.uri}: malformed CSV: {self.describe(str(exc))}", hint=_HINT
                ) from None
        for warning in caught:
            if issubclass(warning.category, pd.errors.ParserWarning):
                self.messages.append(str(warning.message))
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return result

    def skipped(self) -> list[BadLine]:
        """The rows pandas skipped, with their physical lines."""
        found = [(int(m[1]), m[2].strip()) for msg in self.messages for m in _SKIPPED.finditer(msg)]
        if not found:
            return []
        lines = self.record_lines(max(record for record, _ in found))
        return [BadLine(self.uri, lines.get(r, r), detail) for r, detail in found]

    def describe(self, error: str) -> str:
        """pandas' tokenizer error, with its record number turned into the file's line."""
        detail = error.strip().splitlines()[-1]
        detail = re.sub(r"^Error tokenizing data\. C error: ", "", detail)
        fields = _EXPECTED.search(detail)
        if fields:
            record = int(fields[2])
            line = self.record_lines(record).get(record, record)
            return f"line {line} has {fields[3]} fields, expected {fields[1]}"
        unclosed = _EOF_QUOTE.search(detail)
        if unclosed:
            record = int(unclosed[1]) + 1
            line = self.record_lines(record).get(record, record)
            return f"line {line} opens a quoted field that is never closed"
        return detail

    def text(self) -> IO[str]:
        """The file as text, decompressed."""
        import gzip

        raw = self.open_file()
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if self.compression == "gzip" else raw
        return io.TextIOWrapper(binary, encoding=self.encoding, errors="replace", newline="")

    def record_lines(self, upto: int) -> dict[int, int]:
        """Physical start line of records 1..``upto`` (1-based, header and blanks counted)."""
        out: dict[int, int] = {}
        with self.text() as text:
            reader = csv.reader(text, delimiter=self.sep)
            start = 1
            try:
                for record in range(1, upto + 1):
                    next(reader)
                    out[record] = start
                    start = reader.line_num + 1
            except (StopIteration, csv.Error):
                pass
        return out

    def leading_bad_records(self) -> list[tuple[int, int, str]]:
        """Malformed rows at the very start of the data, which pandas would misread silently.

        A first data row with more fields than the header makes pandas take the first column
        as an index (or, with ``index_col=False``, drop fields), so such rows are found here.

        Returns:
            ``(record index, physical line, detail)`` of each leading row wider than the header,
            the record index counted as pandas' ``skiprows`` does (the header is 0).
        """
        out: list[tuple[int, int, str]] = []
        with self.text() as text:
            reader = csv.reader(text, delimiter=self.sep)
            try:
                header = next(reader)
                width, record, start = len(header), 1, reader.line_num + 1
                for row in reader:
                    if len(row) <= width:
                        break
                    out.append((record, start, f"has {len(row)} fields, expected {width}"))
                    record, start = record + 1, reader.line_num + 1
            except (StopIteration, csv.Error):
                pass
        return out
