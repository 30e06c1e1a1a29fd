"""``linear-text``: TF-IDF word and character n-grams + multinomial logistic regression."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from sagebox.algorithms.base import (
    FastScorer,
    FitContext,
    OneOf,
    Range,
    TextClassifier,
    check_fit_inputs,
)

__all__ = ["LinearTextClassifier"]


class LinearTextClassifier(TextClassifier):
    """The baseline text classifier.

    Args:
        max_features: vocabulary size cap per vectorizer.
        ngram_max: longest word n-gram.
        min_df: minimum document frequency of a term.
        C: inverse L2 regularisation strength of the logistic regression.
        max_iter: solver iterations.
        char_ngrams: also use character 2-5-grams within word boundaries (robust to typos).
        class_weight_balanced: weight classes inversely to their frequency.
        seed: random seed.

    Example:
        >>> clf = LinearTextClassifier(C=2.0).fit(["love it", "hate it"] * 5, [1, -1] * 5)
        >>> clf.predict(["love"]).tolist()
        [1]
    """

    name: ClassVar[str] = "linear-text"
    hyperparameter_types: ClassVar[dict[str, type]] = {
        "max_features": int,
        "ngram_max": int,
        "min_df": int,
        "C": float,
        "max_iter": int,
        "char_ngrams": bool,
        "class_weight_balanced": bool,
        "seed": int,
    }
    hyperparameter_constraints: ClassVar[dict[str, Range | OneOf]] = {
        "max_features": Range(1),
        "ngram_max": Range(1, 5),
        "min_df": Range(1),
        "C": Range(0, None, low_inclusive=False),
        "max_iter": Range(1),
    }

    def __init__(
        self,
        *,
        max_features: int = 100_000,
        ngram_max: int = 2,
        min_df: int = 2,
        C: float = 4.0,  # noqa: N803 - scikit-learn's name
        max_iter: int = 1000,
        char_ngrams: bool = True,
        class_weight_balanced: bool = True,
        seed: int = 0,
    ) -> None:
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.C = C
        self.max_iter = max_iter
        self.char_ngrams = char_ngrams
        self.class_weight_balanced = class_weight_balanced
        self.seed = seed

    def _build(self):  # type: ignore[no-untyped-def]
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        min_df = self.min_df
        features = [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, self.ngram_max),
                    min_df=min_df,
                    max_features=self.max_features,
                    sublinear_tf=True,
                    strip_accents="unicode",
                    lowercase=True,
                ),
            ),
        ]
        if self.char_ngrams:
            features.append(
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(2, 5),
                        min_df=min_df,
                        max_features=self.max_features,
                        sublinear_tf=True,
                        lowercase=True,
                    ),
                )
            )
        classifier = LogisticRegression(
            C=self.C,
            max_iter=self.max_iter,
            class_weight="balanced" if self.class_weight_balanced else None,
            random_state=self.seed,
        )
        return make_pipeline(FeatureUnion(features), classifier)

    def fit(
        self, texts: Sequence[str], labels: Sequence[int], context: FitContext | None = None
    ) -> LinearTextClassifier:
        self.validate_params()
        y = check_fit_inputs(texts, labels)
        self.pipeline_ = self._build().fit([str(t) for t in texts], y)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipeline_.predict_proba([str(t) for t in texts]))

    def fast_scorer(self) -> FastScorer | None:
        """The fitted pipeline compiled into plain lookups (:mod:`._linear_fastpath`)."""
        from sagebox.algorithms._linear_fastpath import compile_linear_text

        return compile_linear_text(self.pipeline_)

    def save(self, model_dir: Path) -> None:
        """Write ``model.skops`` (+ its vocabulary) and ``hyperparameters.json``: no pickle."""
        from sagebox.algorithms._sklearn_io import save_sklearn

        save_sklearn(self.pipeline_, model_dir, "model")
        (model_dir / "hyperparameters.json").write_text(json.dumps(self.get_params()))

    @classmethod
    def load(cls, model_dir: Path) -> LinearTextClassifier:
        """Load ``model.skops`` (scikit-learn's own types only); an older ``model.joblib`` loads
        with a FutureWarning."""
        from sagebox.algorithms._sklearn_io import load_legacy_joblib, load_sklearn

        params = json.loads((model_dir / "hyperparameters.json").read_text())
        clf = cls(**params)
        legacy = model_dir / "model.joblib"
        if legacy.is_file() and not (model_dir / "model.skops").is_file():
            clf.pipeline_ = load_legacy_joblib(legacy)
        else:
            clf.pipeline_ = load_sklearn(model_dir, "model", trusted=_TRUSTED)
        clf.classes_ = clf.pipeline_.classes_
        return clf


#: Types beyond skops' defaults (scikit-learn, numpy, scipy) that ``model.skops`` may hold.
_TRUSTED: list[str] = []
