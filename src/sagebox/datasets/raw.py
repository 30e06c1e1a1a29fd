"""Read and validate a raw review file (CSV, or Parquet by its suffix).

Every problem is an :class:`~sagebox.errors.InputDataError` whose message names the file and
the problem in one line, and whose hint says how to fix it.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import pandas as pd

from sagebox.datasets.schema import RAW_COLUMNS, REQUIRED_COLUMNS
from sagebox.errors import InputDataError

__all__ = ["read_raw_reviews"]

_COLUMNS_HINT = "a raw review file needs the columns " + ", ".join(RAW_COLUMNS)


def read_raw_reviews(path: str | Path) -> pd.DataFrame:
    """Read a raw review file and check that the course transformation can use it.

    ``review_id`` is optional: when absent it is created from the row number. Ratings must be
    integers from 1 to 5 (``4.0`` is accepted as 4).

    Args:
        path: a CSV file in the raw columns (or a ``.parquet`` file).

    Returns:
        The reviews, with ``review_id`` first and ``Rating`` as int64.

    Raises:
        InputDataError: if the file is missing, a directory, empty, not UTF-8, malformed, lacks
            a required column, or has a rating that is not an integer in 1-5.

    Example:
        >>> df = read_raw_reviews("reviews.csv")  # doctest: +SKIP
        >>> df["Rating"].between(1, 5).all()  # doctest: +SKIP
        True
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(
            f"{path}: file not found",
            hint="check the path, or generate demo data with "
            "`sagebox datasets synth --out reviews.csv`",
        )
    if path.is_dir():
        raise InputDataError(f"{path}: is a directory, not a file", hint="give the path of a file")
    data = path.read_bytes()
    if not data.strip():
        raise InputDataError(f"{path}: file is empty", hint="give a file with a header and rows")
    text: str | None = None
    if path.suffix.lower() == ".parquet":
        df = _read_parquet(path, data)
    else:
        text = _decode(path, data)
        df = _parse_csv(path, text)
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise InputDataError(
            f"{path}: has a header but no data rows", hint="give a file with at least one review"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{path}: missing required column(s) {', '.join(map(repr, missing))}; "
            f"found {', '.join(map(repr, df.columns))}",
            hint=_COLUMNS_HINT,
        )
    df["Rating"] = _check_ratings(path, df["Rating"], text)
    if "review_id" not in df.columns:
        df.insert(0, "review_id", pd.RangeIndex(len(df)))
    return df


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        source = _likely_encoding(data)
        raise InputDataError(
            f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}, "
            f"line {line}; looks like {source})",
            hint=f"re-save the file as UTF-8 (e.g. `iconv -f {source} -t utf-8`)",
        ) from None


def _likely_encoding(data: bytes) -> str:
    """UTF-16 (a byte-order mark, or NULs at every other byte) or, failing that, Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:4096]
    if head[1::2].count(0) > 0.7 * len(head[1::2]) > 0:
        return "utf-16le"
    if head[0::2].count(0) > 0.7 * len(head[0::2]) > 0:
        return "utf-16be"
    return "latin1"


def _parse_csv(path: Path, text: str) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            # index_col=False stops pandas from silently turning a row with an extra field into
            # an index; it warns instead, and we make that an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), index_col=False)
    except pd.errors.ParserWarning:
        raise InputDataError(
            f"{path}: malformed CSV: {_describe_extra_fields(text)}",
            hint="check the quoting and the number of fields on that line",
        ) from None
    except pd.errors.EmptyDataError:
        raise InputDataError(
            f"{path}: file is empty", hint="give a file with a header and rows"
        ) from None
    except pd.errors.ParserError as exc:
        raise InputDataError(
            f"{path}: malformed CSV: {_describe_parser_error(text, str(exc))}",
            hint="check the quoting and the number of fields on that line",
        ) from None


def _describe_parser_error(text: str, error: str) -> str:
    """pandas' tokenizer error with its record number turned into the file's line number."""
    detail = error.strip().splitlines()[-1]
    detail = re.sub(r"^Error tokenizing data\. C error: ", "", detail)
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    if fields:
        line = _line_of_record(text, int(fields[2]) - 1)
        return f"line {line} has {fields[3]} fields, expected {fields[1]}"
    unclosed = re.search(r"EOF inside string starting at row (\d+)", detail)
    if unclosed:
        line = _line_of_record(text, int(unclosed[1]))
        return f"line {line} opens a quoted field that is never closed"
    return detail


def _read_parquet(path: Path, data: bytes) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise InputDataError(
            f"{path}: not a valid Parquet file ({type(exc).__name__})",
            hint="re-export the file, or save it as CSV",
        ) from None


def _check_ratings(path: Path, ratings: pd.Series, text: str | None) -> pd.Series:
    """Ratings as int64, or an error naming how many rows are bad and the first of them."""
    numbers = pd.to_numeric(ratings, errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0) | ~numbers.between(1, 5)
    if not bad.any():
        return numbers.astype("int64")
    position = int(bad.to_numpy().argmax())
    value = ratings.iloc[position]
    shown = "empty" if pd.isna(value) else repr(value)
    where = f"row {position + 1}"
    if text is not None:
        where += f", line {_line_of_row(text, position)}"
    raise InputDataError(
        f"{path}: {int(bad.sum())} row(s) have a Rating that is not an integer in 1-5; "
        f"first: {shown} ({where})",
        hint="fix or drop those rows; ratings are whole stars from 1 to 5",
    )


def _describe_extra_fields(text: str) -> str:
    """Name the first line whose record has more fields than the header."""
    reader = csv.reader(io.StringIO(text))
    width = 0
    for header in reader:  # pandas skips blank lines before the header too
        if header:
            width = len(header)
            break
    start = reader.line_num + 1
    for record in reader:
        if len(record) > width:
            return f"line {start} has {len(record)} fields, expected {width}"
        start = reader.line_num + 1
    return "a row has more fields than the header"


def _line_of_row(text: str, position: int) -> int:
    """The line where data row ``position`` (0-based, as pandas counts) starts."""
    reader = csv.reader(io.StringIO(text))
    start, seen = 1, -1  # the header is row -1
    for record in reader:
        if record:  # pandas skips blank lines
            if seen == position:
                return start
            seen += 1
        start = reader.line_num + 1
    return start


def _line_of_record(text: str, index: int) -> int:
    """The line where record ``index`` (0-based, header and blank lines included) starts."""
    reader = csv.reader(io.StringIO(text))
    start = 1
    for _ in range(index):
        try:
            next(reader)
        except (StopIteration, csv.Error):
            break
        start = reader.line_num + 1
    return start
