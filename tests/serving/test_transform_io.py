"""Batch transform records: filters, splitting, mini-batches, joins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagebox.errors import InputDataError
from sagebox.serving._transform.records import (
    JsonPath,
    encode_request,
    join,
    mini_batches,
    read_records,
    write_output,
)


@pytest.mark.parametrize(
    ("expr", "value", "expected"),
    [
        ("$", {"a": 1}, {"a": 1}),
        ("$.a.b", {"a": {"b": 2}}, 2),
        ("$['a','c']", {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3}),
        ('$["a"]', {"a": 1}, 1),
        ("$[1]", ["x", "y", "z"], "y"),
        ("$[-1]", ["x", "y", "z"], "z"),
        ("$[1:]", ["x", "y", "z"], ["y", "z"]),
        ("$[:2]", ["x", "y", "z"], ["x", "y"]),
        ("$[0,2]", ["x", "y", "z"], ["x", "z"]),
    ],
)
def test_json_path(expr: str, value: object, expected: object) -> None:
    assert JsonPath(expr).apply(value) == expected


def test_json_path_errors() -> None:
    with pytest.raises(InputDataError, match="unsupported JSONPath"):
        JsonPath("$..a")
    with pytest.raises(InputDataError, match="does not match"):
        JsonPath("$.missing").apply({"a": 1})


def test_csv_records_keep_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,text\n1,"two\nlines, and a comma"\n2,plain\n')
    header, records = read_records(path, "text/csv", "Line", header=True)
    assert header == ["id", "text"] and records == [
        ["1", "two\nlines, and a comma"],
        ["2", "plain"],
    ]
    body = encode_request([r[1] for r in records], "text/csv")
    from sagebox.models.handler import input_fn

    assert input_fn(body, "text/csv") == ["two\nlines, and a comma", "plain"]


def test_mini_batches_respect_payload_and_count() -> None:
    parts = [f"review number {i}" for i in range(50)]
    batches = list(mini_batches(parts, "application/jsonlines", max_payload=200, max_records=8))
    assert batches[0][0] == 0 and batches[-1][1] == 50
    assert all(end - start <= 8 and len(body) <= 200 for start, end, body in batches)
    assert [json.loads(x) for _, _, b in batches for x in b.decode().splitlines()] == parts
    with pytest.raises(InputDataError, match="payload limit"):
        list(mini_batches(["x" * 500], "application/jsonlines", max_payload=100, max_records=5))


def test_join_and_write(tmp_path: Path) -> None:
    prediction = {"label": 1, "probabilities": {"-1": 0.1, "1": 0.9}}
    assert join(["7", "nice"], prediction, "text/csv") == ["7", "nice", 1, 0.1, 0.9]
    assert join({"id": 7}, prediction, "application/jsonlines") == {
        "id": 7,
        "SageboxOutput": prediction,
    }
    write_output(tmp_path / "o.csv", [["7", "nice", 1]], "text/csv", ["id", "text", "label"])
    assert (tmp_path / "o.csv").read_text() == "id,text,label\n7,nice,1\n"
