"""Batch transform records: splitting, JSONPath filters, mini-batches, joining, output.

Records are CSV rows (parsed with the csv module, so quoted fields may hold newlines), JSON
lines, or a whole file. Filters take the JSONPath subset SageMaker's docs use: ``$``,
``$.a.b``, ``$['a','b']`` (a sub-object), ``$[1]``, ``$[1:]``, ``$[0,3,-1]``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError

__all__ = [
    "JsonPath",
    "encode_request",
    "flatten",
    "join",
    "mini_batches",
    "read_records",
    "write_output",
]

_INDEXES = re.compile(r"^\$\[(-?\d+(?:\s*,\s*-?\d+)*)\]$")
_SLICE = re.compile(r"^\$\[(-?\d*):(-?\d*)\]$")
_KEYS = re.compile(r"""^\$\[\s*(['"][^'"]+['"](?:\s*,\s*['"][^'"]+['"])*)\s*\]$""")


class JsonPath:
    """A compiled filter from the supported JSONPath subset.

    Example:
        >>> JsonPath("$.review_body").apply({"review_body": "ok", "id": 3})
        'ok'
        >>> JsonPath("$[1:]").apply(["id", "a", "b"])
        ['a', 'b']
    """

    def __init__(self, expression: str) -> None:
        self.expression = expression.strip()
        expr = self.expression
        self._kind: str
        self._arg: Any
        if expr in ("", "$"):
            self._kind, self._arg = "all", None
        elif (m := _INDEXES.match(expr)) is not None:
            idx = [int(x) for x in m.group(1).split(",")]
            self._kind, self._arg = ("index", idx[0]) if len(idx) == 1 else ("indexes", idx)
        elif (m := _SLICE.match(expr)) is not None:
            lo, hi = (int(x) if x else None for x in m.groups())
            self._kind, self._arg = "slice", slice(lo, hi)
        elif (m := _KEYS.match(expr)) is not None:
            self._kind, self._arg = "keys", [k.strip()[1:-1] for k in m.group(1).split(",")]
        elif expr.startswith("$.") and all(expr[2:].split(".")):
            self._kind, self._arg = "path", expr[2:].split(".")
        else:
            raise InputDataError(
                f"unsupported JSONPath filter {expression!r}",
                hint="use $, $.a.b, $['a','b'], $[1], $[1:] or $[0,2]",
            )

    def apply(self, value: Any) -> Any:
        """The filtered part of ``value``.

        Raises:
            InputDataError: if the record lacks the key or index.
        """
        try:
            if self._kind == "all":
                return value
            if self._kind == "index":
                return value[self._arg]
            if self._kind == "indexes":
                return [value[i] for i in self._arg]
            if self._kind == "slice":
                return value[self._arg]
            if self._kind == "keys":
                if len(self._arg) == 1:
                    return value[self._arg[0]]
                return {k: value[k] for k in self._arg}
            for key in self._arg:
                value = value[key]
            return value
        except (KeyError, IndexError, TypeError) as exc:
            raise InputDataError(
                f"filter {self.expression} does not match record {json.dumps(value)[:100]}",
                hint="check the filter against the input format",
            ) from exc


def read_records(
    path: Path, content_type: str, split_type: str, header: bool
) -> tuple[list[str] | None, list[Any]]:
    """``(header row or None, records)`` of one input file."""
    text = path.read_text(encoding="utf-8")
    if split_type == "None":
        return None, [text]
    if content_type == "text/csv":
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
        if header and rows:
            return rows[0], rows[1:]
        return None, rows
    if content_type in ("application/jsonlines", "application/json"):
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputDataError(
                        f"{path.name} line {number} is not JSON: {exc}",
                        hint="give one JSON value per line",
                    ) from exc
        return None, records
    return None, [line for line in text.splitlines() if line.strip()]


def encode_request(parts: list[Any], content_type: str) -> bytes:
    """The request body carrying ``parts`` (filtered records) in ``content_type``."""
    if content_type == "text/csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for part in parts:
            writer.writerow(part if isinstance(part, list) else [part])
        return buffer.getvalue().encode("utf-8")
    if content_type in ("application/jsonlines", "application/json"):
        return "".join(json.dumps(p) + "\n" for p in parts).encode("utf-8")
    return "\n".join(str(p) for p in parts).encode("utf-8")


def mini_batches(
    parts: list[Any], content_type: str, max_payload: int, max_records: int
) -> Iterator[tuple[int, int, bytes]]:
    """``(first index, end index, body)`` of mini-batches up to the payload and record caps.

    Raises:
        InputDataError: if one record alone exceeds the payload cap.
    """
    start = 0
    while start < len(parts):
        sizes = 0
        end = start
        while end < len(parts) and end - start < max_records:
            size = len(encode_request([parts[end]], content_type))
            if size > max_payload:
                raise InputDataError(
                    f"record {end} is {size} bytes, over the {max_payload}-byte payload limit",
                    hint="raise max_payload_mb or filter the record down",
                )
            if sizes + size > max_payload:
                break
            sizes += size
            end += 1
        yield start, end, encode_request(parts[start:end], content_type)
        start = end


def flatten(prediction: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level with dotted keys (for CSV output columns)."""
    if not isinstance(prediction, dict):
        return {prefix or "prediction": prediction}
    out: dict[str, Any] = {}
    for key, value in prediction.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, name) if isinstance(value, dict) else {name: value})
    return out


def join(record: Any, prediction: Any, content_type: str) -> Any:
    """``join_source=Input``: the input record with the prediction next to it."""
    if content_type == "text/csv":
        row = record if isinstance(record, list) else [record]
        return [*row, *flatten(prediction).values()]
    if isinstance(record, dict):
        return {**record, "SageboxOutput": prediction}
    return [record, prediction]


def write_output(path: Path, rows: list[Any], content_type: str, header: list[str] | None) -> None:
    """Write assembled output records, one per line, in input order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if content_type == "text/csv":
            writer = csv.writer(fh, lineterminator="\n")
            if header is not None:
                writer.writerow(header)
            for row in rows:
                writer.writerow(row if isinstance(row, list) else flatten(row).values())
        else:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
