"""Built-in inference-pipeline steps, with the same four hooks as a model package.

- ``normalize-text``: text preprocessing before a model: strips HTML tags, unescapes
  entities, applies Unicode NFKC and collapses whitespace. Takes any request format the
  default handler reads; returns a JSON list of strings.
- ``label-names``: the inverse label transform after a model: turns ``{"predictions":
  [{"label": 1, "probabilities": {...}}]}`` into ``{"predictions": [{"sentiment":
  "positive", "label": 1, "confidence": 0.93}]}``.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from types import SimpleNamespace
from typing import Any

from sagebox.errors import InputDataError
from sagebox.models import handler

__all__ = ["BUILTIN_STEPS", "builtin_step"]

_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"\s+")
SENTIMENT_NAMES = {"-1": "negative", "0": "neutral", "1": "positive"}


def _normalize_predict(texts: list[str], model: Any) -> list[str]:
    out = []
    for text in texts:
        text = html.unescape(_TAGS.sub(" ", text))
        out.append(_SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip())
    return out


def _json_output(values: Any, accept: str = "application/json") -> tuple[bytes, str]:
    return json.dumps(values).encode("utf-8"), "application/json"


def _predictions_input(body: bytes | str, content_type: str = "application/json") -> list[Any]:
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputDataError(
            f"label-names expects the model's JSON predictions: {exc}",
            hint="put label-names right after a model step",
        ) from exc
    predictions = value.get("predictions") if isinstance(value, dict) else None
    if not isinstance(predictions, list):
        raise InputDataError(
            "label-names expects an object with a 'predictions' list",
            hint="put label-names right after a model step",
        )
    return predictions


def _label_names_predict(predictions: list[Any], model: Any) -> list[dict[str, Any]]:
    out = []
    for p in predictions:
        if not isinstance(p, dict) or "label" not in p:
            raise InputDataError(
                f"a prediction without a label: {json.dumps(p)[:80]}",
                hint="put label-names right after a model step",
            )
        probabilities = p.get("probabilities") or {}
        label = str(p["label"])
        out.append(
            {
                "sentiment": SENTIMENT_NAMES.get(label, p.get("label_name", label)),
                "label": p["label"],
                "confidence": round(float(probabilities.get(label, 1.0)), 6),
            }
        )
    return out


BUILTIN_STEPS: dict[str, SimpleNamespace] = {
    "normalize-text": SimpleNamespace(
        model_fn=lambda model_dir: None,
        input_fn=handler.input_fn,
        predict_fn=_normalize_predict,
        output_fn=_json_output,
    ),
    "label-names": SimpleNamespace(
        model_fn=lambda model_dir: None,
        input_fn=_predictions_input,
        predict_fn=_label_names_predict,
        output_fn=handler.output_fn,
    ),
}


def builtin_step(name: str) -> SimpleNamespace:
    """The hooks of built-in step ``name``.

    Raises:
        InputDataError: if there is no such step.
    """
    try:
        return BUILTIN_STEPS[name]
    except KeyError:
        raise InputDataError(
            f"unknown built-in pipeline step {name!r}",
            hint=f"use one of: {', '.join(sorted(BUILTIN_STEPS))}",
        ) from None
