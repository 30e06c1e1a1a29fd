"""The default inference handler of a model package (built-in text classifiers).

SageMaker's four hooks: ``model_fn(model_dir)`` loads, ``input_fn(body, content_type)``
decodes a request into texts, ``predict_fn(texts, model)`` predicts, ``output_fn(predictions,
accept)`` encodes the response. A model package may override any of them in
``code/inference.py``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sagebox.algorithms import TextClassifier, get_algorithm
from sagebox.errors import InputDataError, UnsupportedContentTypeError
from sagebox.models.package import read_manifest

__all__ = ["LoadedModel", "input_fn", "model_fn", "output_fn", "predict_fn"]

TEXT_FIELD = "review_body"


@dataclass
class LoadedModel:
    """A classifier with its manifest (and a compiled fast path where one exists)."""

    classifier: TextClassifier
    manifest: dict[str, Any]
    fast: Any = None

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities in ``classifier.classes_`` order (fast path when compiled)."""
        if self.fast is not None:
            return np.asarray(self.fast.predict_proba(texts))
        return self.classifier.predict_proba(texts)


def model_fn(model_dir: str | Path) -> LoadedModel:
    """Load the classifier named in the package's manifest.

    A classifier that offers a fast scorer (``TextClassifier.fast_scorer()``; ``linear-text``
    compiles its pipeline: same probabilities, about 10x less time per request) is scored
    with it.
    """
    path = Path(model_dir)
    manifest = read_manifest(path)
    classifier = get_algorithm(manifest["algorithm"]).load(path)
    return LoadedModel(classifier=classifier, manifest=manifest, fast=classifier.fast_scorer())


def input_fn(body: bytes | str, content_type: str = "application/json") -> list[str]:
    """Decode a request into a list of review texts.

    Accepted: ``application/json`` (a string, a list of strings or objects, an object with
    ``review_body``, or ``{"instances": [...]}``), ``application/jsonlines`` (one string or
    object per line), ``text/csv`` (one review per row, first column), ``text/plain`` (the whole
    body is one review).

    Raises:
        InputDataError: on an empty or malformed body (UnsupportedContentTypeError for an
            unsupported content type).
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise InputDataError(
            f"the request body is not UTF-8 ({exc.reason} at byte {exc.start})",
            hint="encode the reviews as UTF-8",
        ) from exc
    if not text.strip():
        raise InputDataError("the request body is empty", hint=f"send at least one {TEXT_FIELD}")
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            texts = _from_json_value(json.loads(text))
        elif kind in ("application/jsonlines", "application/x-jsonlines", "application/jsonl"):
            texts = [
                t
                for line in text.splitlines()
                if line.strip()
                for t in _from_json_value(json.loads(line))
            ]
        elif kind == "text/csv":
            texts = [row[0] for row in csv.reader(io.StringIO(text)) if row]
        elif kind == "text/plain":
            texts = [text]
        else:
            raise UnsupportedContentTypeError(
                f"unsupported content type {content_type!r}",
                hint="send application/json, application/jsonlines, text/csv or text/plain",
            )
    except (json.JSONDecodeError, csv.Error, RecursionError) as exc:
        raise InputDataError(
            f"malformed {kind} body: {exc}", hint="check the request body"
        ) from exc
    if not texts:
        raise InputDataError("the request holds no reviews", hint=f"send at least one {TEXT_FIELD}")
    return texts


def predict_fn(texts: list[str], model: LoadedModel) -> list[dict[str, Any]]:
    """Predict a label, its name and class probabilities for each text."""
    proba = model.predict_proba(texts)
    classes = [int(c) for c in model.classifier.classes_]
    names = model.manifest.get("label_names", {})
    out = []
    for row in proba:
        best = int(row.argmax())
        out.append(
            {
                "label": classes[best],
                "label_name": names.get(str(classes[best]), str(classes[best])),
                "probabilities": {
                    str(c): round(float(p), 6) for c, p in zip(classes, row, strict=True)
                },
            }
        )
    return out


def output_fn(
    predictions: list[dict[str, Any]], accept: str = "application/json"
) -> tuple[bytes, str]:
    """Encode predictions as JSON (``{"predictions": [...]}``) or JSON lines."""
    kind = (accept or "application/json").split(";")[0].strip().lower()
    if kind in ("application/jsonlines", "application/x-jsonlines", "application/jsonl"):
        body = "".join(json.dumps(p) + "\n" for p in predictions)
        return body.encode("utf-8"), "application/jsonlines"
    return json.dumps({"predictions": predictions}).encode("utf-8"), "application/json"


def _from_json_value(value: Any) -> list[str]:
    if isinstance(value, dict) and "instances" in value:
        value = value["instances"]
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and isinstance(item.get(TEXT_FIELD), str):
            texts.append(item[TEXT_FIELD])
        else:
            raise InputDataError(
                f"cannot read a review from {json.dumps(item)[:80]}: a review must be a string",
                hint=f'send strings or objects like {{"{TEXT_FIELD}": "..."}}',
            )
    return texts
