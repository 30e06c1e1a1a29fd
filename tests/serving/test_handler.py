from __future__ import annotations

import json

import pytest

from sagebox.errors import InputDataError
from sagebox.serving.handler import input_fn, output_fn


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ('"great"', "application/json", ["great"]),
        ('["a", {"review_body": "b"}]', "application/json", ["a", "b"]),
        ('{"instances": ["a", "b"]}', "application/json; charset=utf-8", ["a", "b"]),
        ('{"review_body": "x"}\n"y"\n\n', "application/jsonlines", ["x", "y"]),
        ('"one, with comma"\ntwo\n', "text/csv", ["one, with comma", "two"]),
        ("just one review\nwith two lines", "text/plain", ["just one review\nwith two lines"]),
    ],
)
def test_input_formats(body: str, content_type: str, expected: list[str]) -> None:
    assert input_fn(body.encode(), content_type) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("{", "application/json", "malformed application/json"),
        ('{"text": "x"}', "application/json", "cannot read a review"),
        ("[]", "application/json", "no reviews"),
        ("x", "image/png", "unsupported content type"),
    ],
)
def test_bad_requests(body: str, content_type: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        input_fn(body.encode(), content_type)


def test_output_formats() -> None:
    preds = [{"label": 1}, {"label": -1}]
    body, kind = output_fn(preds, "application/jsonlines")
    assert kind == "application/jsonlines"
    assert [json.loads(line) for line in body.decode().splitlines()] == preds
    body, kind = output_fn(preds, "*/*")
    assert json.loads(body) == {"predictions": preds} and kind == "application/json"
