from __future__ import annotations

import json

import pytest

from sagebox.errors import InputDataError, UnsupportedContentTypeError
from sagebox.models.handler import input_fn, output_fn


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


@pytest.mark.parametrize(
    ("body", "content_type", "error", "message"),
    [
        (b"", "application/json", InputDataError, "empty"),
        (b"   \n", "text/csv", InputDataError, "empty"),
        (b"\xff\xfe\x00", "application/json", InputDataError, "not UTF-8"),
        (b"[1, 2]", "application/json", InputDataError, "must be a string"),
        (b'{"review_body": 5}', "application/json", InputDataError, "must be a string"),
        (b"[" * 100_000, "application/json", InputDataError, "malformed"),
        (b"x", "application/xml", UnsupportedContentTypeError, "unsupported content type"),
    ],
)
def test_more_bad_requests(body: bytes, content_type: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        input_fn(body, content_type)


def test_fast_path_matches_scikit_learn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from sagebox.algorithms._linear_fastpath import compile_linear_text
    from sagebox.algorithms.linear_text import LinearTextClassifier
    from sagebox.datasets import generate_reviews

    raw = generate_reviews(400, seed=5).dropna(subset=["Review Text"])
    texts = raw["Review Text"].astype(str).tolist()
    labels = [(-1 if r <= 2 else 0 if r == 3 else 1) for r in raw["Rating"]]
    clf = LinearTextClassifier(max_features=3000).fit(texts, labels)
    fast = compile_linear_text(clf.pipeline_)
    assert fast is not None
    probe = [*texts[:150], "", "   ", "Ünïcödé  dress!!\n\nso   soft", "a b c", "x" * 3000]
    np.testing.assert_allclose(fast.predict_proba(probe), clf.predict_proba(probe), atol=1e-9)
    binary = LinearTextClassifier(char_ngrams=False, min_df=1).fit(texts[:60], [1, -1] * 30)
    compiled = compile_linear_text(binary.pipeline_)
    assert compiled is not None
    np.testing.assert_allclose(
        compiled.predict_proba(texts[:20]), binary.predict_proba(texts[:20]), atol=1e-9
    )
    assert compile_linear_text(object()) is None
