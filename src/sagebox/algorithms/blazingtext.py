"""``blazingtext``: supervised text classification with fastText, BlazingText-compatible.

Training data is written in fastText's ``__label__<class> <tokens>`` format (the format
BlazingText's supervised mode reads), and the model directory holds ``model.bin`` that
``fasttext.load_model`` (and BlazingText hosting) can load. Hyperparameters use BlazingText's
names (``epochs``, ``learning_rate``, ``vector_dim``, ``word_ngrams``, ``min_count``,
``buckets``, ``early_stopping``, ``patience``, ``min_epochs``); ``min_char``/``max_char`` turn on
fastText's sub-word character n-grams.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sagebox.algorithms.base import FitContext, OneOf, Range, TextClassifier, check_fit_inputs

__all__ = ["LABEL_PREFIX", "BlazingTextClassifier", "format_line", "parse_line", "tokenize"]

LABEL_PREFIX = "__label__"
_TOKEN = re.compile(r"[\w']+|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> str:
    """Lower-case ``text`` and separate punctuation from words, as BlazingText expects."""
    return " ".join(_TOKEN.findall(str(text).lower()))


def format_line(label: int, text: str) -> str:
    """One training line: ``__label__<label> <tokens>``."""
    return f"{LABEL_PREFIX}{label} {tokenize(text)}"


def parse_line(line: str) -> tuple[list[str], str]:
    """Split a fastText line into its labels (without prefix) and text."""
    labels: list[str] = []
    words: list[str] = []
    for token in line.split():
        if token.startswith(LABEL_PREFIX) and not words:
            labels.append(token[len(LABEL_PREFIX) :])
        else:
            words.append(token)
    return labels, " ".join(words)


class BlazingTextClassifier(TextClassifier):
    """fastText supervised classifier with BlazingText's hyperparameter names.

    Args:
        mode: only ``supervised`` (text classification) is supported.
        epochs: passes over the data.
        learning_rate: initial learning rate.
        vector_dim: size of word vectors.
        word_ngrams: longest word n-gram.
        min_count: discard words rarer than this.
        buckets: hash buckets for word n-grams.
        min_char: shortest character n-gram (0 with max_char 0: no sub-words).
        max_char: longest character n-gram.
        early_stopping: with validation data, stop when validation accuracy stops improving.
        patience: epochs without improvement before stopping.
        min_epochs: epochs trained before early stopping may act.
        class_weight_balanced: oversample rarer classes to the size of the largest.
        threads: fastText threads (1 is reproducible for a given seed).
        seed: random seed.

    Example:
        >>> clf = BlazingTextClassifier(epochs=10).fit(["love it", "hate it"] * 20, [1, -1] * 20)
        >>> clf.predict(["love"]).tolist()
        [1]
    """

    name: ClassVar[str] = "blazingtext"
    hyperparameter_types: ClassVar[dict[str, type]] = {
        "mode": str,
        "epochs": int,
        "learning_rate": float,
        "vector_dim": int,
        "word_ngrams": int,
        "min_count": int,
        "buckets": int,
        "min_char": int,
        "max_char": int,
        "early_stopping": bool,
        "patience": int,
        "min_epochs": int,
        "class_weight_balanced": bool,
        "threads": int,
        "seed": int,
    }
    hyperparameter_constraints: ClassVar[dict[str, Range | OneOf]] = {
        "mode": OneOf(("supervised",)),
        "epochs": Range(1, 1000),
        "learning_rate": Range(0, 10, low_inclusive=False),
        "vector_dim": Range(1, 1000),
        "word_ngrams": Range(1, 5),
        "min_count": Range(1),
        "buckets": Range(1),
        "min_char": Range(0),
        "max_char": Range(0),
        "patience": Range(1),
        "min_epochs": Range(1),
        "threads": Range(1, 64),
    }

    def __init__(
        self,
        *,
        mode: str = "supervised",
        epochs: int = 10,
        learning_rate: float = 0.3,
        vector_dim: int = 50,
        word_ngrams: int = 2,
        min_count: int = 1,
        buckets: int = 500_000,
        min_char: int = 0,
        max_char: int = 0,
        early_stopping: bool = False,
        patience: int = 3,
        min_epochs: int = 3,
        class_weight_balanced: bool = False,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        self.mode = mode
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.vector_dim = vector_dim
        self.word_ngrams = word_ngrams
        self.min_count = min_count
        self.buckets = buckets
        self.min_char = min_char
        self.max_char = max_char
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_epochs = min_epochs
        self.class_weight_balanced = class_weight_balanced
        self.threads = threads
        self.seed = seed

    def _train(self, path: Path, epochs: int) -> Any:
        import fasttext

        return fasttext.train_supervised(
            input=str(path),
            epoch=epochs,
            lr=self.learning_rate,
            dim=self.vector_dim,
            wordNgrams=self.word_ngrams,
            minCount=self.min_count,
            bucket=self.buckets,
            minn=self.min_char,
            maxn=self.max_char,
            thread=self.threads,
            seed=self.seed,
            label=LABEL_PREFIX,
            verbose=0,
        )

    def fit(
        self, texts: Sequence[str], labels: Sequence[int], context: FitContext | None = None
    ) -> BlazingTextClassifier:
        """Train with fastText; with validation data and ``early_stopping``, pick the epochs."""
        from sagebox.errors import InputDataError

        self.validate_params()
        if self.max_char < self.min_char:
            raise InputDataError(
                f"max_char={self.max_char} is smaller than min_char={self.min_char}",
                hint="give max_char >= min_char (or both 0 for no sub-words)",
            )
        y = check_fit_inputs(texts, labels)
        rows = np.arange(len(y))
        if self.class_weight_balanced:
            rows = _oversample(y, self.seed)
        context = context or FitContext()
        with tempfile.TemporaryDirectory(prefix="sagebox-blazingtext-") as tmp:
            path = Path(tmp) / "train.txt"
            path.write_text(
                "".join(format_line(int(y[i]), texts[int(i)]) + "\n" for i in rows),
                encoding="utf-8",
            )
            epochs = self.epochs
            if self.early_stopping and context.validation is not None:
                epochs = self._choose_epochs(path, context)
            self.model_ = self._train(path, epochs)
        self.epochs_trained_ = epochs
        self.classes_ = np.unique(y)
        return self

    def _choose_epochs(self, path: Path, context: FitContext) -> int:
        """BlazingText's early stopping: the epoch count with the best validation accuracy."""
        assert context.validation is not None
        v_texts, v_labels = context.validation
        truth = np.asarray(v_labels)
        best, best_epochs, since = -1.0, self.min_epochs, 0
        for epochs in range(self.min_epochs, self.epochs + 1):
            self.model_ = self._train(path, epochs)
            self.classes_ = np.unique(truth)
            accuracy = float(np.mean(self._predict_labels(v_texts) == truth))
            context.log_metric("validation:accuracy", accuracy, epochs)
            if accuracy > best:
                best, best_epochs, since = accuracy, epochs, 0
            else:
                since += 1
                if since >= self.patience:
                    break
        return best_epochs

    def _predict_labels(self, texts: Sequence[str]) -> np.ndarray:
        predicted, _ = self.model_.predict([tokenize(t) for t in texts], k=1)
        return np.asarray([int(p[0][len(LABEL_PREFIX) :]) for p in predicted])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        index = {int(c): i for i, c in enumerate(self.classes_)}
        labels, probs = self.model_.predict([tokenize(t) for t in texts], k=-1)
        out = np.zeros((len(texts), len(self.classes_)))
        for row, (row_labels, row_probs) in enumerate(zip(labels, probs, strict=True)):
            for label, prob in zip(row_labels, row_probs, strict=True):
                out[row, index[int(label[len(LABEL_PREFIX) :])]] = prob
        sums = out.sum(axis=1, keepdims=True)
        return out / np.where(sums > 0, sums, 1.0)

    def save(self, model_dir: Path) -> None:
        model_dir.mkdir(parents=True, exist_ok=True)
        self.model_.save_model(str(model_dir / "model.bin"))
        (model_dir / "hyperparameters.json").write_text(
            json.dumps({**self.get_params(), "classes": [int(c) for c in self.classes_]})
        )

    @classmethod
    def load(cls, model_dir: Path) -> BlazingTextClassifier:
        import fasttext

        fasttext.FastText.eprint = lambda *args, **kwargs: None  # a deprecation notice per load
        params = json.loads((model_dir / "hyperparameters.json").read_text())
        classes = params.pop("classes")
        clf = cls(**params)
        clf.model_ = fasttext.load_model(str(model_dir / "model.bin"))
        clf.classes_ = np.asarray(classes)
        return clf


def _oversample(y: np.ndarray, seed: int) -> np.ndarray:
    """Row indices in which every class appears as often as the largest one, shuffled."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    rows = []
    for cls, count in zip(classes, counts, strict=True):
        members = np.flatnonzero(y == cls)
        extra = rng.choice(members, size=counts.max() - count, replace=True)
        rows.append(np.concatenate([members, extra]))
    return rng.permutation(np.concatenate(rows))
