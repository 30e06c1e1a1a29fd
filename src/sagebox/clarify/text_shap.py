"""Token-level Kernel SHAP for text classifiers: which words push a review towards each class.

Global importance of a word is ``agg_method`` over its occurrences (words seen fewer than
``TextConfig.min_count`` times are left out); ``top_words`` ranks words by their mean SHAP value
towards each class.

Each review is its own game: its words are the players, a coalition is the review with the
other words replaced by ``TextConfig.mask_token`` (removed by default), and the baseline is the
review with every word masked. ``shap.KernelExplainer`` estimates each word's contribution
with ``num_samples`` coalitions; the values of a review add up to its prediction minus the
baseline prediction. Works with any ``predict_proba(texts) -> (n, classes)`` function,
e.g. :class:`sagebox.algorithms.TextClassifier` models or a packaged model's handler.

Example:
    >>> from sagebox.clarify import ShapConfig, explain_text
    >>> result = explain_text(clf.predict_proba, reviews, ["-1", "0", "1"],
    ...                       ShapConfig(num_samples=200))  # doctest: +SKIP
    >>> [w["word"] for w in result.top_words["-1"][:3]]  # doctest: +SKIP
    ['disappointed', 'returned', 'cheap']
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sagebox.clarify.config import ShapConfig, TextConfig
from sagebox.clarify.explain import Explanation, aggregate, numpy_seed
from sagebox.errors import InputDataError

__all__ = ["explain_text", "tokenize"]

TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
TOP_GLOBAL = 200


def tokenize(text: str) -> list[tuple[int, int]]:
    """Word spans ``(start, end)`` of ``text`` (letters/digits, inner apostrophes kept)."""
    return [m.span() for m in TOKEN.finditer(text)]


def _masked(text: str, spans: list[tuple[int, int]], keep: np.ndarray, mask_token: str) -> str:
    parts, last = [], 0
    for (start, end), kept in zip(spans, keep, strict=True):
        parts.append(text[last:start])
        parts.append(text[start:end] if kept else mask_token)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def explain_text(
    predict_proba: Callable[[list[str]], Any],
    texts: Sequence[str],
    label_names: Sequence[str],
    config: ShapConfig | None = None,
    text_config: TextConfig | None = None,
) -> Explanation:
    """Token-level SHAP values of every text, plus global word importance per class.

    Args:
        predict_proba: texts → class probabilities ``(n, len(label_names))``.
        texts: the reviews to explain.
        label_names: the class labels, in the column order of ``predict_proba``.
        config: num_samples (coalitions per review), agg_method, use_logit and seed.
        text_config: mask token, and min_count/top_k of the per-class word ranking.

    Raises:
        InputDataError: if ``texts`` is empty or the model's output has the wrong width.
    """
    import shap

    config = config or ShapConfig()
    text_config = text_config or TextConfig()
    names = [str(n) for n in label_names]
    if not texts:
        raise InputDataError("no texts to explain", hint="give at least one review")
    link = "logit" if config.use_logit else "identity"
    local: list[dict[str, Any]] = []
    occurrences: dict[str, list[np.ndarray]] = defaultdict(list)
    expected_sum = np.zeros(len(names))
    texts = [str(t) for t in texts]
    predictions = _predict(predict_proba, texts, len(names))
    for index, (text, full) in enumerate(zip(texts, predictions, strict=True)):
        spans = tokenize(text)
        phi = np.zeros((len(spans), len(names)))
        base = _linked(full, config.use_logit)  # no words: nothing moves the prediction
        if spans:

            def model(masks: np.ndarray, text: str = text, spans: list = spans) -> np.ndarray:
                batch = [_masked(text, spans, m > 0.5, text_config.mask_token) for m in masks]
                return _predict(predict_proba, batch, len(names))

            explainer = shap.KernelExplainer(model, np.zeros((1, len(spans))), link=link)
            with numpy_seed(config.seed + index), warnings.catch_warnings():
                # fewer coalitions than words: shap falls back to least squares, by design
                warnings.filterwarnings("ignore", message="Linear regression equation is singular")
                raw = explainer.shap_values(
                    np.ones((1, len(spans))),
                    nsamples=config.num_samples,
                    l1_reg=False,
                    silent=True,
                )
            phi = np.asarray(raw, dtype=np.float64).reshape(len(spans), len(names))
            base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        expected_sum += base
        best = int(np.argmax(full))
        tokens = []
        for (start, end), values in zip(spans, phi, strict=True):
            word = text[start:end]
            occurrences[word.lower()].append(values)
            tokens.append(
                {
                    "token": word,
                    "start": start,
                    "end": end,
                    "shap": {n: float(v) for n, v in zip(names, values, strict=True)},
                }
            )
        local.append(
            {
                "index": index,
                "text": text,
                "predicted_label": names[best],
                "probabilities": {n: float(p) for n, p in zip(names, full, strict=True)},
                "expected_value": {n: float(v) for n, v in zip(names, base, strict=True)},
                "tokens": tokens,
            }
        )
    words = sorted(occurrences)
    stacked = {w: np.vstack(occurrences[w]) for w in words}
    glob = {w: aggregate(v, config.agg_method) for w, v in stacked.items()}
    mean = {w: v.mean(axis=0) for w, v in stacked.items()}
    importance: dict[str, dict[str, float]] = {}
    top: dict[str, list[dict[str, Any]]] = {}
    frequent = [w for w in words if len(stacked[w]) >= text_config.min_count]
    for k, name in enumerate(names):
        ranked = sorted(frequent, key=lambda w: -abs(glob[w][k]))[:TOP_GLOBAL]
        importance[name] = {w: float(glob[w][k]) for w in ranked}
        top[name] = [
            {"word": w, "mean_shap": float(mean[w][k]), "count": len(stacked[w])}
            for w in sorted(frequent, key=lambda w: -mean[w][k])[: text_config.top_k]
        ]
    return Explanation(
        kind="text",
        label_names=names,
        expected_values=[float(v) for v in expected_sum / len(texts)],
        global_importance=importance,
        local=local,
        config=config,
        top_words=top,
        info={
            "baseline": "each review with every word "
            + (f"replaced by {text_config.mask_token!r}" if text_config.mask_token else "removed"),
            "shap_version": shap.__version__,
            "rows": len(texts),
            "min_count": text_config.min_count,
        },
    )


def _predict(predict_proba: Callable[[list[str]], Any], texts: list[str], width: int) -> np.ndarray:
    out = np.asarray(predict_proba(texts), dtype=np.float64)
    if out.ndim != 2 or out.shape[1] != width:
        raise InputDataError(
            f"the model returned shape {out.shape} for {len(texts)} texts, expected "
            f"({len(texts)}, {width})",
            hint="label_names must list the model's classes in its column order",
        )
    return out


def _linked(p: np.ndarray, use_logit: bool) -> np.ndarray:
    if not use_logit:
        return p
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(clipped / (1 - clipped))
